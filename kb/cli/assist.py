"""``kb suggest``: the API's suggestion for a customer message, from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from kb.assist.schemas import SuggestBody, SuggestResponse
from kb.assist.suggest import input_from, suggest
from kb.cli._common import Collection, DataDir, JsonFlag, fail, open_kb, out, shorten


def suggest_cmd(
    text: Annotated[
        str | None, typer.Option("--text", help="The customer's message (one turn).")
    ] = None,
    request: Annotated[
        Path | None, typer.Option("--request", help="A whole API request body (JSON file).")
    ] = None,
    customer_json: Annotated[
        Path | None, typer.Option("--customer-json", help="Customer fields (JSON file).")
    ] = None,
    collection: Collection = None,
    display_script: Annotated[str | None, typer.Option(help="zh-Hans | zh-Hant")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Suggest answers, replies and escalation for a customer message (same as the API)."""
    if (text is None) == (request is None):
        raise fail("give exactly one of --text or --request")
    kb = open_kb(data_dir)
    try:
        if request is not None:
            body = SuggestBody.model_validate_json(request.read_bytes())
        else:
            customer = json.loads(customer_json.read_text("utf-8")) if customer_json else {}
            body = SuggestBody.model_validate(
                {
                    "conversation": [{"role": "customer", "text": text}],
                    "customer": customer,
                    "collection": collection,  # None: the settings' default_collection
                    "display_script": display_script,
                }
            )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        raise fail(f"{where}: {first['msg']}") from exc
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from exc
    result = suggest(kb, input_from(body))
    if as_json:
        sys.stdout.write(result.model_dump_json() + "\n")
        return
    _print_suggestion(result)


def _print_suggestion(result: SuggestResponse) -> None:
    out.print(f"[bold]query:[/bold] {result.query}", markup=True, highlight=False)
    out.print(f"[bold]handling:[/bold] {result.handling}  ({result.took_ms} ms)")
    for n, a in enumerate(result.answers, start=1):
        src = a.source
        where = " › ".join([src.title, *src.section])
        out.print(
            f"\n[bold]{n}. [{a.confidence}][/bold] {a.title}  [dim]{where} v{src.version}[/dim]"
        )
        out.print("   " + shorten(a.text, 200), markup=False, highlight=False)
    for r in result.replies:
        missing = f"  (missing: {', '.join(r.missing_variables)})" if r.missing_variables else ""
        out.print(f"\n[bold]reply[/bold] {r.title}{missing}\n   {r.text}", highlight=False)
    esc = result.escalation
    if esc.recommended:
        out.print(f"\n[bold red]escalate[/bold red] to {esc.team} ({esc.level})")
        out.print("   reasons: " + "; ".join(esc.reasons), markup=False)
        for n, step in enumerate(esc.steps, start=1):
            out.print(f"   {n}. {step}", markup=False)
