"""What every ``kb`` command shares: options, opening the knowledge base, one error path."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from kb.context import KnowledgeBase
from kb.errors import KBError
from kb.faults import as_domain_error
from kb.settings import Settings

# Wide enough for any value: a pipe or a file has no width to fit.
_UNBOUNDED = 1_000_000


class _Console(Console):
    """As wide as the terminal on one; unbounded in a pipe, a file or a test, where rich would
    otherwise assume 80 columns, cut table cells to "yunzhou-x1-manual…" and wrap messages."""

    @property
    def size(self) -> ConsoleDimensions:
        size = Console.size.fget(self)  # type: ignore[attr-defined]
        return size if self.is_terminal else ConsoleDimensions(_UNBOUNDED, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


out = _Console()
err = _Console(stderr=True)

# Who the audit log says made a change from the terminal. Just "cli": whoever can run the CLI on
# the server can read the database anyway, and an OS user name would only look like a proof.
ACTOR = "cli"

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $KB_DATA_DIR or ./data)."),
]
Collection = Annotated[
    str | None,
    typer.Option("--collection", "-c", help="Collection (default: $KB_DEFAULT_COLLECTION)."),
]
# Every command that prints records takes it (tests/kb/test_cli_output.py holds them to it).
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(command: F) -> F:
    """The CLI's one error path: a domain error (or a fault: disk full, database gone) becomes
    ``error: <message>`` and exit status 1."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except KBError as exc:
            raise fail(exc.message) from exc
        except Exception as exc:  # a full disk or a database gone reads as it does in the API
            fault = as_domain_error(exc)
            if fault is None:
                raise
            raise fail(fault.message) from exc

    return run  # type: ignore[return-value]


class Typer(typer.Typer):
    """A ``typer.Typer`` whose every command goes through :func:`reports_errors`."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(function: F) -> F:
            register(reports_errors(function))
            return function

        return decorator


def settings_for(data_dir: Path | None) -> Settings:
    settings = Settings()
    return settings.model_copy(update={"data_dir": data_dir}) if data_dir else settings


def open_kb(data_dir: Path | None) -> KnowledgeBase:
    """The knowledge base of ``data_dir``; a database it cannot use is refused by its KBError."""
    return KnowledgeBase(settings_for(data_dir))


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    return typer.Exit(code)


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"{option} {value!r} is not a date like 2025-01-31") from exc


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table(*columns: str, title: str | None = None) -> Table:
    """A table of ``columns`` whose cells are shown whole, wrapped on a terminal, never cut."""
    grid = Table(title=title)
    for column in columns:
        grid.add_column(column, overflow="fold")
    return grid


def add_row(grid: Table, *cells: str | Text) -> None:
    """A row of plain text: a file named "[draft] 手册.md" or "[/] x" is shown, not parsed as
    rich markup (which hid the first and failed on the second)."""
    grid.add_row(*(c if isinstance(c, Text) else Text(c) for c in cells))
