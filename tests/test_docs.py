"""The README is the front door: every CLI command and every public name is documented there."""

from __future__ import annotations

import re

import pytest

import triggerlab
from triggerlab.cli import COMMANDS

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_cli_command_is_in_the_readme(command: str) -> None:
    assert f"triggerlab {command}" in README


@pytest.mark.parametrize("name", triggerlab.__all__)
def test_every_public_name_is_in_the_readme(name: str) -> None:
    assert re.search(rf"\b{re.escape(name)}\b", README), (
        f"{name} is exported but the README never mentions it"
    )


def test_the_two_commands_are_the_makefile_targets() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "make demo" in README and "make test" in README
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().endswith("make test")
