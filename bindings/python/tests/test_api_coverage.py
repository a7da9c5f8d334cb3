"""The Python API covers every function of capi/offkv.h."""

import inspect
import os
import pathlib
import re

import pytest

import offkv
from offkv import _offkv

# Functions the SWIG typemaps call themselves (never needed from Python): the free
# functions of buffers the typemaps convert, and offkv_options_init.
HANDLED_BY_TYPEMAPS = {
    "offkv_buf_free", "offkv_strings_free", "offkv_string_free", "offkv_event_free",
    "offkv_txn_result_free", "offkv_options_init", "offkv_member_free",
    "offkv_members_free", "offkv_stats_free", "offkv_last_error_copy",
    # Python's options are a dict of typed values (offkv.i's options typemap), not
    # the C API's strings set by name:
    "offkv_options_set", "offkv_options_reset",
}

PACKAGE = pathlib.Path(offkv.__file__).parent


def _header():
    env = os.environ.get("OFFKV_HEADER")
    candidates = [pathlib.Path(env)] if env else []
    here = pathlib.Path(__file__).resolve()
    candidates += [here.parents[3] / "capi" / "offkv.h"]
    for c in candidates:
        if c.is_file():
            return c.read_text()
    pytest.fail("capi/offkv.h not found (set OFFKV_HEADER)")


def _functions(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return set(re.findall(r"OFFKV_API\s+[^;(]*?\b(offkv_\w+)\s*\(", text))


def test_every_c_function_is_wrapped_or_handled():
    functions = _functions(_header())
    assert len(functions) > 40
    missing = sorted(f for f in functions
                     if f not in HANDLED_BY_TYPEMAPS and not hasattr(_offkv, f))
    assert missing == [], f"not wrapped by offkv.i: {missing}"


def test_every_wrapped_function_is_used_by_the_python_api():
    source = "".join(p.read_text() for p in PACKAGE.glob("*.py"))
    wrapped = {n for n in dir(_offkv) if n.startswith("offkv_")}
    unused = sorted(n for n in wrapped if f"_offkv.{n}" not in source)
    assert unused == [], f"wrapped but not reachable from the offkv package: {unused}"


def test_typed_and_documented():
    assert (PACKAGE / "py.typed").is_file()
    for name in offkv.__all__:
        obj = getattr(offkv, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, name
    for cls in (offkv.Client, offkv.Watch, offkv.PersistentWatch, offkv.Transaction,
                offkv.Election, offkv.Detector, offkv.Group, offkv.Lock):
        for name, member in vars(cls).items():
            if not name.startswith("_") and callable(member):
                assert member.__doc__, f"{cls.__name__}.{name}"


def test_help_is_useful():
    import pydoc

    text = pydoc.render_doc(offkv, renderer=pydoc.plaintext)
    assert "offkv.open" in text or "open(url" in text


def test_every_code_returning_function_is_classified_in_offkv_i():
    """A function returning an error code must be OFFKV_CHECKED in offkv.i (else it
    would return the bare int instead of raising, and keep the GIL)."""
    iface = pathlib.Path(__file__).resolve().parents[1] / "offkv.i"
    if not iface.is_file():
        pytest.fail(f"{iface} not found")
    checked = set(re.findall(r"^OFFKV_CHECKED(?:_EX)?\((offkv_\w+)", iface.read_text(),
                             re.M))
    text = re.sub(r"/\*.*?\*/", "", _header(), flags=re.S)
    returning_int = set(re.findall(r"OFFKV_API\s+int\s+(offkv_\w+)\s*\(", text))
    values = {"offkv_version", "offkv_has_backend"}  # return values, not codes
    values |= HANDLED_BY_TYPEMAPS  # called by the typemaps themselves
    assert sorted(returning_int - values - checked) == []
    assert sorted(checked - returning_int) == []
