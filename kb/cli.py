"""The ``kb`` command: ingest, search, documents, eval, serve."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kb.context import KnowledgeBase
from kb.errors import KBError
from kb.settings import Settings

app = typer.Typer(
    help="AssistKB: an agent-assist knowledge base.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
documents_app = typer.Typer(help="List, show and delete documents.", no_args_is_help=True)
index_app = typer.Typer(help="Index maintenance.", no_args_is_help=True)
app.add_typer(documents_app, name="documents")
app.add_typer(index_app, name="index")
rules_app = typer.Typer(help="Escalation rules (YAML).", no_args_is_help=True)
replies_app = typer.Typer(help="Scripted replies (YAML or CSV).", no_args_is_help=True)
vocabulary_app = typer.Typer(
    help="BM25 vocabulary: user dictionary and synonym sets.", no_args_is_help=True
)
app.add_typer(rules_app, name="rules")
app.add_typer(replies_app, name="replies")
app.add_typer(vocabulary_app, name="vocabulary")

out = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $KB_DATA_DIR or ./data)."),
]
Collection = Annotated[str | None, typer.Option("--collection", "-c", help="Collection name.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

SUPPORTED_SUFFIXES = {
    ".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt", ".csv", ".xlsx", ".json",
    ".jsonl", ".doc", ".xls",
}  # fmt: skip


def settings_for(data_dir: Path | None) -> Settings:
    settings = Settings()
    return settings.model_copy(update={"data_dir": data_dir}) if data_dir else settings


def open_kb(data_dir: Path | None) -> KnowledgeBase:
    try:
        return KnowledgeBase(settings_for(data_dir))
    except KBError as exc:  # e.g. a database from an older build
        raise fail(exc.message) from exc


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders.")] = None,
    collection: Collection = None,
    doc_type: Annotated[
        str | None, typer.Option("--type", help="manual | faq | policy | reply")
    ] = None,
    tags: Annotated[str | None, typer.Option(help="Comma-separated tags.")] = None,
    product: Annotated[str | None, typer.Option(help="Product the documents are about.")] = None,
    language: Annotated[str | None, typer.Option(help="zh-Hans | zh-Hant | en")] = None,
    valid_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    valid_to: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="Load the bundled sample KB.")] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Ingest files: a changed file becomes a new version; an unchanged one is skipped."""
    from kb.ingestion import DocumentMeta, IngestItem

    if not paths and not sample:
        raise fail("give one or more PATHs, or --sample")
    kb = open_kb(data_dir)
    batches: dict[str, list[IngestItem]] = {}
    try:
        meta = DocumentMeta(
            doc_type=doc_type,
            tags=tuple(t.strip() for t in (tags or "").split(",") if t.strip()),
            product=product,
            language=language,
            valid_from=_parse_date(valid_from, "--valid-from"),
            valid_to=_parse_date(valid_to, "--valid-to"),
        )
    except KBError as exc:
        raise fail(exc.message) from exc
    target = collection or kb.settings.default_collection
    for path in _expand(paths or []):
        batches.setdefault(target, []).append(IngestItem(path.name, path.read_bytes(), meta))
    sample_kb = None
    if sample:
        from kb.samples import load_sample

        sample_kb = load_sample()
        for name, items in sample_kb.collection_items.items():
            batches.setdefault(collection or name, []).extend(items)
    results = _run_ingest(kb, batches, quiet=as_json)
    if sample_kb is not None:
        from kb.library import import_sample

        import_sample(kb, sample_kb)
    if as_json:
        out.print_json(data=[r.__dict__ for r in results])
    else:
        _print_results(results)
    kb.close()
    if any(r.status == "failed" for r in results):
        raise typer.Exit(2)


def _run_ingest(kb: KnowledgeBase, batches: dict[str, list[Any]], *, quiet: bool) -> list[Any]:
    from kb.ingestion import ingest_items

    results = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, disable=quiet, transient=False) as bar:
        for collection, items in batches.items():
            files = bar.add_task(f"[{collection}] parsing", total=len(items))
            index = bar.add_task(f"[{collection}] indexing", total=None, visible=False)

            def on_file(done: int, total: int, result: Any, task: Any = files) -> None:
                bar.update(task, completed=done, description=f"parsed {result.filename}")

            def on_index(done: int, total: int, task: Any = index) -> None:
                bar.update(task, completed=done, total=total, visible=True)

            try:
                results.extend(
                    ingest_items(
                        kb, items, collection=collection, on_file=on_file, on_index=on_index
                    )
                )
            except KBError as exc:
                raise fail(exc.message) from exc
    return results


def _print_results(results: list[Any]) -> None:
    table = Table(title="Ingestion")
    for column in ("file", "status", "document", "version", "chunks", "detail"):
        table.add_column(column)
    style = {"ingested": "green", "unchanged": "cyan", "failed": "red"}
    for r in results:
        detail = r.reason or "; ".join(r.warnings)
        if r.status == "unchanged":
            detail = "unchanged, nothing to do" + (
                " (metadata updated)" if r.metadata_changed else ""
            )
        table.add_row(
            r.filename,
            f"[{style[r.status]}]{r.status}[/]",
            r.document_id or "",
            str(r.version or ""),
            str(r.chunks),
            detail,
        )
    out.print(table)
    counts = {s: sum(r.status == s for r in results) for s in ("ingested", "unchanged", "failed")}
    out.print(", ".join(f"{n} {s}" for s, n in counts.items()))


@app.command("search")
def search_cmd(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    limit: Annotated[int, typer.Option("--limit", "-n")] = 5,
    collection: Collection = None,
    doc_type: Annotated[list[str] | None, typer.Option("--type")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag")] = None,
    mode: Annotated[str, typer.Option(help="hybrid | bm25 | vector")] = "hybrid",
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Ranked hits with score, heading path and source."""
    from kb.searching import SearchRequest, format_citation, hit_to_dict, search
    from search.types import SearchFilters

    if mode not in ("hybrid", "bm25", "vector"):
        raise fail(f"--mode must be hybrid, bm25 or vector, not {mode!r}")
    kb = open_kb(data_dir)
    request = SearchRequest(
        query,
        collection=collection or kb.settings.default_collection,
        limit=limit,
        filters=SearchFilters(doc_types=tuple(doc_type or ()), tags=tuple(tag or ())),
        mode=mode,  # type: ignore[arg-type]
    )
    try:
        hits = search(kb, request)
    except KBError as exc:
        raise fail(exc.message) from exc
    if as_json:
        out.print_json(data=[hit_to_dict(h) for h in hits])
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
        out.print("   " + _shorten(text, 240).replace("\n", "\n   "), markup=False, highlight=False)


@documents_app.command("list")
def documents_list(
    collection: Collection = None, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """All documents with their current version and chunk count."""
    from kb.documents import DocumentQuery, list_documents

    docs = list_documents(open_kb(data_dir), DocumentQuery(collection=collection))
    if as_json:
        out.print_json(data=docs)
        return
    table = Table(title=f"{len(docs)} documents")
    for column in ("id", "collection", "type", "title", "file", "version", "chunks", "updated"):
        table.add_column(column)
    for d in docs:
        table.add_row(
            d["id"], d["collection"], d["doc_type"], d["title"], d["source_name"],
            str(d["current_version"]), str(d["chunk_count"]), d["updated_at"][:19],
        )  # fmt: skip
    out.print(table)


@documents_app.command("show")
def documents_show(
    document_id: Annotated[str, typer.Argument(metavar="ID")],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Metadata, versions and every chunk with its text, heading path and page."""
    from kb.documents import get_document

    try:
        doc = get_document(open_kb(data_dir), document_id)
    except KBError as exc:
        raise fail(exc.message) from exc
    if as_json:
        out.print_json(data=doc)
        return
    out.print(f"[bold]{doc['title']}[/bold]  ({doc['source_name']}, id {doc['id']})")
    for key in ("collection", "doc_type", "tags", "product", "language", "valid_from", "valid_to"):
        out.print(f"  {key}: {doc[key]}")
    for v in doc["versions"]:
        out.print(
            f"  version {v['number']}: {v['format']}, {v['size_bytes']} bytes, "
            f"{v['chunk_count']} chunks, {v['created_at'][:19]}"
        )
    for c in doc["chunks"]:
        path = " › ".join(c["heading_path"]) or "(no heading)"
        page = f" p. {c['page']}" if c["page"] else ""
        out.print(f"\n[bold]#{c['ordinal']}[/bold] {path}{page}")
        if c["question"]:
            out.print(f"Q: {c['question']}", markup=False)
        out.print(c["text"], markup=False, highlight=False)


@documents_app.command("delete")
def documents_delete(
    document_id: Annotated[str, typer.Argument(metavar="ID")], data_dir: DataDir = None
) -> None:
    """Delete a document and all its versions; it leaves search results at once."""
    from kb.documents import delete_document

    try:
        gone = delete_document(open_kb(data_dir), document_id)
    except KBError as exc:
        raise fail(exc.message) from exc
    out.print(f"deleted {gone['title']} ({gone['id']})")


@index_app.command("rebuild")
def index_rebuild(collection: Collection = None, data_dir: DataDir = None) -> None:
    """Rebuild a collection's index from the database (e.g. after changing the embedder)."""
    from kb.indexing import rebuild_index

    kb = open_kb(data_dir)
    name = collection or kb.settings.default_collection
    with kb.collection_lock(name):
        count = rebuild_index(kb, name)
    out.print(f"rebuilt {name}: {count} chunks")


@app.command("eval")
def eval_cmd(
    corpus: Annotated[Path, typer.Option(help="corpus.jsonl", exists=True, dir_okay=False)],
    queries: Annotated[Path, typer.Option(help="queries.jsonl", exists=True, dir_okay=False)],
    mode: Annotated[list[str] | None, typer.Option(help="hybrid|bm25|vector; repeat")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Ingest CORPUS into a fresh collection through the real path and score every query."""
    from kb.evaluation import evaluate
    from kb.vocabulary import edited_vocabulary

    modes = tuple(mode or ["hybrid"])
    if bad := [m for m in modes if m not in ("hybrid", "bm25", "vector")]:
        raise fail(f"--mode must be hybrid, bm25 or vector, not {bad[0]!r}")
    try:
        kb = open_kb(data_dir)  # its edited vocabulary applies, as in its own searches
        result = evaluate(
            kb.settings,
            corpus,
            queries,
            modes=modes,  # type: ignore[arg-type]
            vocabulary=edited_vocabulary(kb),
        )
    except KBError as exc:
        raise fail(exc.message) from exc
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    else:
        out.print_json(data=result)


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Serve the API (and docs at /docs)."""
    import uvicorn

    from web.app import create_app

    open_kb(data_dir).close()  # a database the server cannot use is refused here, plainly
    uvicorn.run(create_app(settings_for(data_dir)), host=host, port=port, log_level="info")


@app.command("suggest")
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
    from pydantic import ValidationError

    from kb.suggest import suggest
    from web.api.schemas import SuggestBody
    from web.api.suggest import to_input

    if (text is None) == (request is None):
        raise fail("give exactly one of --text or --request")
    try:
        if request is not None:
            body = SuggestBody.model_validate_json(request.read_bytes())
        else:
            customer = json.loads(customer_json.read_text("utf-8")) if customer_json else {}
            body = SuggestBody.model_validate(
                {
                    "conversation": [{"role": "customer", "text": text}],
                    "customer": customer,
                    "collection": collection or "default",
                    "display_script": display_script,
                }
            )
        result = suggest(open_kb(data_dir), to_input(body))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        raise fail(f"{where}: {first['msg']}") from exc
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from exc
    except KBError as exc:
        raise fail(exc.message) from exc
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    _print_suggestion(result)


def _print_suggestion(result: dict[str, Any]) -> None:
    out.print(f"[bold]query:[/bold] {result['query']}", markup=True, highlight=False)
    out.print(f"[bold]handling:[/bold] {result['handling']}  ({result['took_ms']} ms)")
    for n, a in enumerate(result["answers"], start=1):
        src = a["source"]
        where = " › ".join([src["title"], *src["section"]])
        out.print(
            f"\n[bold]{n}. [{a['confidence']}][/bold] {a['title']}"
            f"  [dim]{where} v{src['version']}[/dim]"
        )
        out.print("   " + _shorten(a["text"], 200), markup=False, highlight=False)
    for r in result["replies"]:
        missing = (
            f"  (missing: {', '.join(r['missing_variables'])})" if r["missing_variables"] else ""
        )
        out.print(f"\n[bold]reply[/bold] {r['title']}{missing}\n   {r['text']}", highlight=False)
    esc = result["escalation"]
    if esc["recommended"]:
        out.print(f"\n[bold red]escalate[/bold red] to {esc['team']} ({esc['level']})")
        out.print("   reasons: " + "; ".join(esc["reasons"]), markup=False)
        for n, step in enumerate(esc["steps"], start=1):
            out.print(f"   {n}. {step}", markup=False)


@rules_app.command("import")
def rules_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)], data_dir: DataDir = None
) -> None:
    """Replace the escalation rules with FILE; a file with an error changes nothing."""
    from kb.library import import_rules

    try:
        rules = import_rules(open_kb(data_dir), file.read_text("utf-8"), file.name)
    except KBError as exc:
        raise fail(exc.message + " (the previous rules stay in force)") from exc
    out.print(f"imported {len(rules)} rules from {file.name}")


@rules_app.command("export")
def rules_export(data_dir: DataDir = None) -> None:
    """Print the rules in force as YAML."""
    from kb.library import export_rules

    sys.stdout.write(export_rules(open_kb(data_dir)))


@replies_app.command("import")
def replies_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)], data_dir: DataDir = None
) -> None:
    """Add or update scripted replies from a YAML or CSV file (all or nothing)."""
    from kb.library import import_replies

    try:
        ids = import_replies(open_kb(data_dir), file.read_text("utf-8"), file.name)
    except KBError as exc:
        raise fail(exc.message) from exc
    out.print(f"imported {len(ids)} replies from {file.name}")


@replies_app.command("export")
def replies_export(data_dir: DataDir = None) -> None:
    """Print every scripted reply as YAML."""
    from kb.library import export_replies

    sys.stdout.write(export_replies(open_kb(data_dir)))


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
    from kb.vocabulary import Vocabulary, edited_vocabulary, save_vocabulary

    kb = open_kb(data_dir)
    current = edited_vocabulary(kb)
    wanted = Vocabulary(
        user_dict=user_dict.read_text("utf-8") if user_dict else current.user_dict,
        synonyms=synonyms.read_text("utf-8") if synonyms else current.synonyms,
    )
    try:
        done = save_vocabulary(kb, wanted)
    except KBError as exc:
        name = {"user_dict": user_dict, "synonyms": synonyms}.get(exc.field or "")
        where = f"{name.name}: " if name else ""
        raise fail(f"{where}{exc.message} (the vocabulary is unchanged)") from exc
    if not done["changed"]:
        out.print("vocabulary unchanged; nothing re-indexed")
        return
    out.print(
        f"vocabulary saved; re-indexed {len(done['collections'])} collection(s) "
        f"in {done['seconds']} s"
    )


@vocabulary_app.command("show")
def vocabulary_show(json_out: JsonFlag = False, data_dir: DataDir = None) -> None:
    """Print the edited user dictionary and synonyms."""
    from kb.vocabulary import edited_vocabulary

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
    text: Annotated[str, typer.Argument(help="A sentence.")], data_dir: DataDir = None
) -> None:
    """Show how TEXT is cut into BM25 tokens with the vocabulary in force."""
    from kb.vocabulary import cut

    out.print(" / ".join(cut(open_kb(data_dir), text)), markup=False, highlight=False)


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise fail(f"{path}: no such file or folder")
    return files


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"{option} {value!r} is not a date like 2025-01-31") from exc


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


if __name__ == "__main__":
    app()
