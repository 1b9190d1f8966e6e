"""The project's metadata: what `pip install` reads from pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_licence_is_an_spdx_string_with_its_files_in_the_repository() -> None:
    """A table (`{text = "MIT"}`) makes setuptools print a deprecation warning on every build."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert project["license-files"], "name the licence file so that it ships in the wheel"
    for pattern in project["license-files"]:
        assert list(ROOT.glob(pattern)), f"license-files entry {pattern!r} matches no file"
