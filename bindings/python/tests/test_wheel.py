"""Packaging: an abi3 wheel for CPython >= 3.10, typed, with the native module private."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import pytest

import miji
import miji._native


def test_wheel_tag_is_abi3() -> None:
    wheel = os.environ.get("MIJI_WHEEL")
    if not wheel:
        pytest.skip("MIJI_WHEEL not set (test.sh sets it)")
    name = Path(wheel).name
    assert "-cp310-abi3-" in name, name


def test_native_module_is_abi3_and_private() -> None:
    assert Path(miji._native.__file__ or "").name.startswith("_native.abi3.")
    assert miji.Scanner is miji._native.Scanner
    assert miji.Scanner.__module__ == "miji"


def test_typed_package() -> None:
    files = resources.files("miji")
    assert files.joinpath("py.typed").is_file()
    assert files.joinpath("_native.pyi").is_file()


def test_docs_reach_python() -> None:
    assert miji.Scanner.__doc__ and "GIL" in miji.Scanner.__doc__
    assert miji.Scanner.scan.__doc__ and miji.Report.__doc__ and miji.Finding.start.__doc__
