"""``kb rules import|export`` and ``kb replies import|export``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kb.cli._common import ACTOR, DataDir, Typer, fail, open_kb, out
from kb.errors import KBError
from kb.library.store import export_replies, export_rules, import_replies, import_rules

rules_app = Typer(help="Escalation rules (YAML).", no_args_is_help=True)
replies_app = Typer(help="Scripted replies (YAML or CSV).", no_args_is_help=True)

ExistingFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False)]


@rules_app.command("import")
def rules_import(file: ExistingFile, data_dir: DataDir = None) -> None:
    """Replace the escalation rules with FILE; a file with an error changes nothing."""
    try:
        rules = import_rules(open_kb(data_dir), file.read_text("utf-8"), file.name, actor=ACTOR)
    except KBError as exc:
        raise fail(exc.message + " (the previous rules stay in force)") from exc
    out.print(f"imported {len(rules)} rules from {file.name}")


@rules_app.command("export")
def rules_export(data_dir: DataDir = None) -> None:
    """Print the rules in force as YAML."""
    sys.stdout.write(export_rules(open_kb(data_dir)))


@replies_app.command("import")
def replies_import(file: ExistingFile, data_dir: DataDir = None) -> None:
    """Add or update scripted replies from a YAML or CSV file (all or nothing)."""
    ids = import_replies(open_kb(data_dir), file.read_text("utf-8"), file.name, actor=ACTOR)
    out.print(f"imported {len(ids)} replies from {file.name}")


@replies_app.command("export")
def replies_export(data_dir: DataDir = None) -> None:
    """Print every scripted reply as YAML."""
    sys.stdout.write(export_replies(open_kb(data_dir)))
