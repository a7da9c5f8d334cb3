#!/usr/bin/env python3
"""Turns etcdctl's JSON answers (make_seeds.sh) into fuzz_etcd_decode seeds: the
5-byte header the target reads, then the answer as protobuf (offkv's trimmed etcd
v3 messages, core/etcd/proto: the field numbers below are theirs).

usage: etcd_json_to_seed.py JSON_DIR OUT_DIR"""
import base64
import json
import os
import sys


def varint(n):
    n &= (1 << 64) - 1  # negative int64: ten bytes, as protobuf does
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, value):
    return varint(num << 3) + varint(int(value)) if value else b""


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data if data else b""


def get(d, *names):
    for n in names:
        if n in d:
            return d[n]
    return None


def header(h):
    if not h:
        return b""
    return (field_varint(1, get(h, "cluster_id") or 0) + field_varint(2, get(h, "member_id") or 0)
            + field_varint(3, get(h, "revision") or 0) + field_varint(4, get(h, "raft_term") or 0))


def key_value(kv):
    b64 = lambda s: base64.b64decode(s) if s else b""
    return (field_bytes(1, b64(kv.get("key"))) + field_varint(2, kv.get("create_revision", 0))
            + field_varint(3, kv.get("mod_revision", 0)) + field_varint(4, kv.get("version", 0))
            + field_bytes(5, b64(kv.get("value"))) + field_varint(6, kv.get("lease", 0)))


def range_response(r):
    out = field_bytes(1, header(get(r, "header", "Header")))
    for kv in get(r, "kvs", "Kvs") or []:
        out += field_bytes(2, key_value(kv))
    return out + field_varint(3, get(r, "more") or 0) + field_varint(4, get(r, "count") or 0)


def txn_response(t):
    out = field_bytes(1, header(get(t, "header", "Header")))
    out += field_varint(2, 1 if get(t, "succeeded", "Succeeded") else 0)
    for op in get(t, "responses", "Responses") or []:
        inner = op.get("Response", op)
        if "ResponseRange" in inner or "response_range" in inner:
            body = field_bytes(1, range_response(get(inner, "ResponseRange", "response_range")))
        elif "ResponsePut" in inner or "response_put" in inner:
            p = get(inner, "ResponsePut", "response_put")
            body = field_bytes(2, field_bytes(1, header(p.get("header"))))
        else:
            continue
        out += field_bytes(3, body)
    return out


def watch_response(w):
    out = field_bytes(1, header(get(w, "Header", "header")))
    out += field_varint(2, get(w, "WatchId", "watch_id") or 0)
    out += field_varint(3, 1 if get(w, "Created", "created") else 0)
    out += field_varint(4, 1 if get(w, "Canceled", "canceled") else 0)
    out += field_varint(5, get(w, "CompactRevision", "compact_revision") or 0)
    for ev in get(w, "Events", "events") or []:
        e = field_varint(1, ev.get("type", 0)) + field_bytes(2, key_value(ev.get("kv", {})))
        out += field_bytes(11, e)
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)

    def write(name, mode, params, body):
        with open(os.path.join(dst, name), "wb") as f:
            f.write(bytes([mode]) + bytes(params) + body)

    # Range: path selector 1 (/a) or 2 (/a/b), armed at version 1, 0 children, since 1.
    for name, path in (("range-all", 0), ("range-a", 0), ("range-children", 1),
                       ("range-empty", 0)):
        with open(os.path.join(src, name + ".json")) as f:
            write(name, 0, [path, 1, 0, 1], range_response(json.load(f)))
    # Txn: the backend read /a's slots (bit 0) and /b's; no counters; 3 ops.
    for name in ("txn-success", "txn-failure"):
        path = os.path.join(src, name + ".json")
        if os.path.getsize(path):
            with open(path) as f:
                write(name, 1, [0b1001, 0, 0x0B, 0], txn_response(json.load(f)))
    # Watch: each response, for a watch on /a (selector 0) resuming at revision 1.
    with open(os.path.join(src, "watch.json")) as f:
        for i, line in enumerate(l for l in f if l.strip()):
            write("watch-%02d" % i, 2, [0, 1, 0, 0], watch_response(json.loads(line)))


if __name__ == "__main__":
    main()
