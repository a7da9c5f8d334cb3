#!/usr/bin/env python3
"""Part of scripts/abi-check.sh: hides the field appends that capi/offkv.h
"Structs and ABI" allows, so that abidiff reports everything else.

usage: abi-appends.py BASELINE.abi CURRENT.abi OUT.abi

For each growable struct (GROWABLE below) in both dumps, members of CURRENT after the
baseline's are dropped, and the struct's size set back to the baseline's, when those
members all start after the baseline's last member (they were appended, possibly into
its tail padding). Anything else is left as it is, for abidiff to report. Prints the
hidden appends.
"""
import sys
import xml.etree.ElementTree as ET

# The structs that may gain fields at their end; offkv_buf and offkv_strings are final.
GROWABLE = {
    "offkv_options", "offkv_event", "offkv_completion", "offkv_op_result",
    "offkv_txn_result", "offkv_member", "offkv_members", "offkv_recipe_event",
    "offkv_stat", "offkv_stats",
}


def structs(root):
    out = {}
    for decl in root.iter("class-decl"):
        name = decl.get("name")
        if name in GROWABLE and decl.get("is-declaration-only") != "yes":
            out[name] = decl
    return out


def members(decl):
    return [m for m in decl.findall("data-member")]


def main(baseline_path, current_path, out_path):
    baseline = structs(ET.parse(baseline_path).getroot())
    tree = ET.parse(current_path)
    for name, decl in structs(tree.getroot()).items():
        old = baseline.get(name)
        if old is None:
            continue
        old_members, new_members = members(old), members(decl)
        if len(new_members) <= len(old_members):
            continue
        last_old = int(old_members[-1].get("layout-offset-in-bits")) if old_members else -1
        appended = new_members[len(old_members):]
        if not all(int(m.get("layout-offset-in-bits")) > last_old for m in appended):
            continue
        for m in appended:
            var = m.find("var-decl")
            print(f"  appended to {name}: {var.get('name') if var is not None else '?'}"
                  f" at bit {m.get('layout-offset-in-bits')}")
            decl.remove(m)
        decl.set("size-in-bits", old.get("size-in-bits"))
    tree.write(out_path)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
