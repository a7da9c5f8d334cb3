"""The package's version is capi/offkv.h's OFFKV_VERSION_STRING (the one source)."""

import os
import pathlib
import re

import pytest

import offkv

HERE = pathlib.Path(__file__).resolve()


def _header_version():
    header = pathlib.Path(os.environ.get("OFFKV_HEADER") or
                          HERE.parents[3] / "capi" / "offkv.h")
    if not header.is_file():
        pytest.fail(f"{header} not found")
    m = re.search(r'#define OFFKV_VERSION_STRING "([^"]+)"', header.read_text())
    assert m, "OFFKV_VERSION_STRING not found in capi/offkv.h"
    return m.group(1)


def test_pyproject_version_is_the_headers():
    text = (HERE.parents[1] / "pyproject.toml").read_text()
    m = re.search(r'^version = "([^"]+)"', text, flags=re.M)
    assert m, "no version in pyproject.toml"
    assert m.group(1) == _header_version(), (
        "bindings/python/pyproject.toml's version differs from capi/offkv.h's "
        "OFFKV_VERSION_STRING: change them together")


def test_binding_and_library_are_the_headers_version():
    assert offkv.HEADER_VERSION == _header_version()
    assert offkv.library_version() == _header_version()
