"""``kb check [--repair] [--json]``: consistency of the database, index generations, jobs, cache."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from kb.cli._common import DataDir, JsonFlag, add_row, open_kb, out, table
from kb.maintenance.check import run_check
from kb.maintenance.schemas import Finding


def check_cmd(
    repair: Annotated[
        bool, typer.Option("--repair", help="Fix what can be fixed without losing data.")
    ] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Report every inconsistency; exit status 1 if any (after --repair: if any is left)."""
    kb = open_kb(data_dir)
    try:
        report = run_check(kb, repair=repair)
    finally:
        kb.close()
    if as_json:
        out.print_json(report.model_dump_json())
    else:
        _print(report.findings, repair=repair)
        if repair and report.remaining:
            out.print("[bold]still wrong after the repair:[/bold]")
            _print(report.remaining, repair=False)
    if not report.ok:
        raise typer.Exit(1)


def _print(findings: list[Finding], *, repair: bool) -> None:
    if not findings:
        out.print("no inconsistencies found")
        return
    last_column = "repaired" if repair else "repairable"
    grid = table("kind", "subject", "detail", last_column, title=f"{len(findings)} inconsistencies")
    for f in findings:
        last = (
            (f.repaired or Text("not repaired", style="red"))
            if repair
            else ("yes" if f.repairable else "no")
        )
        add_row(grid, f.kind, f.subject, f.detail, last)
    out.print(grid)
