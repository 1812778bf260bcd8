"""``kb search``, ``kb eval`` and ``kb vocabulary set|show|cut``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, cast

import typer

from kb.cli._common import (
    ACTOR,
    Collection,
    DataDir,
    JsonFlag,
    Typer,
    err,
    fail,
    open_kb,
    out,
    shorten,
)
from kb.errors import KBError
from kb.retrieval.evaluation import evaluate
from kb.retrieval.searching import SearchRequest, format_citation, search_hits, search_result
from kb.retrieval.vocabulary import Vocabulary, cut, edited_vocabulary, save_vocabulary
from kb.types import SEARCH_MODES, SearchMode
from search.types import SearchFilters

vocabulary_app = Typer(
    help="BM25 vocabulary: user dictionary and synonym sets.", no_args_is_help=True
)


def _modes(values: list[str]) -> tuple[SearchMode, ...]:
    if bad := [m for m in values if m not in SEARCH_MODES]:
        raise fail(f"--mode must be one of {', '.join(SEARCH_MODES)}, not {bad[0]!r}")
    return tuple(cast(SearchMode, m) for m in values)


def search_cmd(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    limit: Annotated[int, typer.Option("--limit", "-n")] = 5,
    collection: Collection = None,
    doc_type: Annotated[list[str] | None, typer.Option("--type")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag")] = None,
    mode: Annotated[str, typer.Option(help=" | ".join(SEARCH_MODES))] = "hybrid",
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Ranked hits with score, heading path and source."""
    (checked,) = _modes([mode])
    kb = open_kb(data_dir)
    request = SearchRequest(
        query,
        collection=collection,  # None: the settings' default_collection
        limit=limit,
        filters=SearchFilters(doc_types=tuple(doc_type or ()), tags=tuple(tag or ())),
        mode=checked,
    )
    result = search_result(kb, request)
    hits = result.hits
    if result.degraded == "embedder_unavailable":  # on stderr: --json output keeps its shape
        err.print("[yellow]the embedding server is unavailable: results by keywords only[/yellow]")
    if as_json:
        out.print_json(data=[h.model_dump(mode="json") for h in search_hits(kb, hits)])
        return
    if not hits:
        out.print("no results")
    for rank, hit in enumerate(hits, start=1):
        out.print(f"[bold]{rank}.[/bold] [cyan]{hit.score:.3f}[/cyan]  {format_citation(hit)}")
        text = (
            hit.chunk.text
            if not hit.chunk.question
            else f"Q: {hit.chunk.question}\nA: {hit.chunk.text}"
        )
        out.print("   " + shorten(text, 240).replace("\n", "\n   "), markup=False, highlight=False)


def eval_cmd(
    corpus: Annotated[Path, typer.Option(help="corpus.jsonl", exists=True, dir_okay=False)],
    queries: Annotated[Path, typer.Option(help="queries.jsonl", exists=True, dir_okay=False)],
    mode: Annotated[list[str] | None, typer.Option(help="hybrid|bm25|vector; repeat")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Ingest CORPUS into a fresh collection through the real path and score every query."""
    modes = _modes(mode or ["hybrid"])
    kb = open_kb(data_dir)  # its edited vocabulary applies, as in its own searches
    result = evaluate(kb.settings, corpus, queries, modes=modes, vocabulary=edited_vocabulary(kb))
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    else:
        out.print_json(data=result)


@vocabulary_app.command("set")
def vocabulary_set(
    user_dict: Annotated[
        Path | None,
        typer.Option("--user-dict", exists=True, dir_okay=False, help="word [freq] [tag] lines."),
    ] = None,
    synonyms: Annotated[
        Path | None,
        typer.Option("--synonyms", exists=True, dir_okay=False, help="One set per line, commas."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Replace the edited vocabulary (an option left out keeps its part) and re-index."""
    kb = open_kb(data_dir)
    current = edited_vocabulary(kb)
    wanted = Vocabulary(
        user_dict=user_dict.read_text("utf-8") if user_dict else current.user_dict,
        synonyms=synonyms.read_text("utf-8") if synonyms else current.synonyms,
    )
    try:
        done = save_vocabulary(kb, wanted, actor=ACTOR)
    except KBError as exc:  # name the file the bad line is in
        name = {"user_dict": user_dict, "synonyms": synonyms}.get(exc.field or "")
        where = f"{name.name}: " if name else ""
        raise fail(f"{where}{exc.message} (the vocabulary is unchanged)") from exc
    if not done.changed:
        out.print("vocabulary unchanged; nothing re-indexed")
        return
    out.print(
        f"vocabulary saved; re-indexed {len(done.collections)} collection(s) in {done.seconds} s"
    )


@vocabulary_app.command("show")
def vocabulary_show(json_out: JsonFlag = False, data_dir: DataDir = None) -> None:
    """Print the edited user dictionary and synonyms."""
    edited = edited_vocabulary(open_kb(data_dir))
    if json_out:
        payload = {"user_dict": edited.user_dict, "synonyms": edited.synonyms}
        out.print_json(json.dumps(payload, ensure_ascii=False))
        return
    out.print("[bold]user dictionary[/bold]")
    out.print(edited.user_dict or "(empty)", markup=False, highlight=False)
    out.print("[bold]synonyms[/bold]")
    out.print(edited.synonyms or "(empty)", markup=False, highlight=False)


@vocabulary_app.command("cut")
def vocabulary_cut(
    text: Annotated[str, typer.Argument(help="A sentence.")],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Show how TEXT is cut into BM25 tokens with the vocabulary in force."""
    tokens = cut(open_kb(data_dir), text)
    if as_json:
        sys.stdout.write(json.dumps(tokens, ensure_ascii=False) + "\n")
        return
    out.print(" / ".join(tokens), markup=False, highlight=False)
