"""The README documents every setting and the commands it promises exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
MAKEFILE = (Path(__file__).resolve().parents[1] / "Makefile").read_text(encoding="utf-8")


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented(field: str) -> None:
    assert f"`KB_{field.upper()}`" in README


@pytest.mark.parametrize("target", ["run", "test"])
def test_readme_commands_exist(target: str) -> None:
    assert f"make {target}" in README
    assert re.search(rf"^{target}:", MAKEFILE, re.M)
