"""What every ``kb`` command shares: options, opening the knowledge base, one error path."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from kb.context import KnowledgeBase
from kb.errors import KBError
from kb.faults import as_domain_error
from kb.settings import Settings

out = Console()
err = Console(stderr=True)

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
