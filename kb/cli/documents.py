"""``kb ingest``, ``kb documents list|show|owner|reviewed|delete`` and ``kb index rebuild``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from ingest.detect import SUPPORTED_EXTENSIONS, extension
from kb.cli._common import (
    ACTOR,
    Collection,
    DataDir,
    JsonFlag,
    Typer,
    add_row,
    err,
    fail,
    open_kb,
    out,
    parse_date,
    table,
)
from kb.context import KnowledgeBase
from kb.documents.catalog import DocumentQuery, delete_document, get_document, list_documents
from kb.documents.ingestion import DocumentMeta, FileResult, IngestItem, ingest_items
from kb.documents.ownership import OwnershipEdit, mark_reviewed, set_ownership
from kb.documents.samples import load_sample
from kb.documents.schemas import DocumentDetail, FileResultOut
from kb.documents.stages import with_stages
from kb.library.store import import_sample
from kb.retrieval.indexing import rebuild_index
from kb.retrieval.merging import merge_segments
from kb.types import DOC_TYPES, FILE_STATUSES, LANGUAGES

documents_app = Typer(
    help="List, show and delete documents; set their owner and review.", no_args_is_help=True
)
index_app = Typer(help="Index maintenance.", no_args_is_help=True)


def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders.")] = None,
    collection: Collection = None,
    doc_type: Annotated[str | None, typer.Option("--type", help=" | ".join(DOC_TYPES))] = None,
    tags: Annotated[str | None, typer.Option(help="Comma-separated tags.")] = None,
    product: Annotated[str | None, typer.Option(help="Product the documents are about.")] = None,
    language: Annotated[str | None, typer.Option(help=" | ".join(LANGUAGES))] = None,
    valid_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    valid_to: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="Load the bundled sample KB.")] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Ingest files: a changed file becomes a new version; an unchanged one is skipped."""
    if not paths and not sample:
        raise fail("give one or more PATHs, or --sample")
    kb = open_kb(data_dir)
    batches: dict[str, list[IngestItem]] = {}
    meta = DocumentMeta(
        doc_type=doc_type,
        tags=tuple(t.strip() for t in (tags or "").split(",") if t.strip()),
        product=product,
        language=language,
        valid_from=parse_date(valid_from, "--valid-from"),
        valid_to=parse_date(valid_to, "--valid-to"),
    )
    target = collection or kb.settings.default_collection
    for path in expand(paths or []):
        batches.setdefault(target, []).append(IngestItem(path.name, path.read_bytes(), meta))
    sample_kb = None
    if sample:
        sample_kb = load_sample()
        for name, items in sample_kb.collection_items.items():
            batches.setdefault(collection or name, []).extend(items)
    results = _run_ingest(kb, batches, quiet=as_json)
    if sample_kb is not None:
        import_sample(kb, sample_kb, actor=ACTOR)
    if as_json:
        out.print_json(
            data=[FileResultOut.model_validate(r).model_dump(mode="json") for r in results]
        )
    else:
        _print_results(results)
    kb.close()
    if any(r.status == "failed" for r in results):
        raise typer.Exit(2)


def _run_ingest(
    kb: KnowledgeBase, batches: dict[str, list[IngestItem]], *, quiet: bool
) -> list[FileResult]:
    results: list[FileResult] = []
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

            done = ingest_items(
                kb, items, collection=collection, on_file=on_file, on_index=on_index, actor=ACTOR
            )
            results.extend(done)
    return results


def _print_results(results: list[FileResult]) -> None:
    grid = table("file", "status", "document", "version", "chunks", "detail", title="Ingestion")
    style = {"ingested": "green", "unchanged": "cyan", "failed": "red"}
    for r in results:
        detail = r.reason or "; ".join(r.warnings)
        if r.status == "unchanged":
            detail = "unchanged, nothing to do" + (
                " (metadata updated)" if r.metadata_changed else ""
            )
        add_row(
            grid,
            r.filename,
            Text(r.status, style=style[r.status]),
            r.document_id or "",
            str(r.version or ""),
            str(r.chunks),
            detail,
        )
    out.print(grid)
    counts = {s: sum(r.status == s for r in results) for s in FILE_STATUSES}
    out.print(", ".join(f"{n} {s}" for s, n in counts.items()))


@documents_app.command("list")
def documents_list(
    collection: Collection = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only those due for review, longest overdue first.")
    ] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """All documents with their current version, chunk count, owner and review date."""
    query = DocumentQuery(collection=collection, overdue=overdue)
    kb = open_kb(data_dir)
    docs = with_stages(kb, list_documents(kb, query))
    if as_json:
        out.print_json(data=[d.model_dump(mode="json") for d in docs])
        return
    columns = ("id", "collection", "type", "title", "file", "version", "chunks", "updated")
    grid = table(*columns, "owner", "review due", title=f"{len(docs)} documents")
    for d in docs:
        due = f"{d.review_due}{' (overdue)' if d.due_for_review else ''}" if d.review_due else ""
        add_row(
            grid, d.id, d.collection, d.doc_type, d.title, d.source_name,
            str(d.current_version), str(d.chunk_count), f"{d.updated_at:%Y-%m-%dT%H:%M:%S}",
            d.owner or "", due,
        )  # fmt: skip
    out.print(grid)


@documents_app.command("show")
def documents_show(
    document_id: Annotated[str, typer.Argument(metavar="ID")],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Metadata, stage, versions and every chunk with its text, heading path and page."""
    kb = open_kb(data_dir)
    doc = with_stages(kb, [get_document(kb, document_id)])[0]
    if as_json:
        out.print_json(data=doc.model_dump(mode="json"))
        return
    out.print(f"[bold]{doc.title}[/bold]  ({doc.source_name}, id {doc.id})")
    shown = doc.model_dump(
        include={
            "collection", "doc_type", "tags", "product", "language", "valid_from", "valid_to",
            "owner", "review_interval_days", "reviewed_at", "review_due", "due_for_review",
        }
    )  # fmt: skip
    for key, value in shown.items():
        out.print(f"  {key}: {value}")
    embedded = f" ({doc.embedded}/{doc.to_embed} embedded)" if doc.to_embed else ""
    out.print(f"  stage: {doc.stage}{embedded}")
    for v in doc.versions:
        out.print(
            f"  version {v.number}: {v.format}, {v.size_bytes} bytes, "
            f"{v.chunk_count} chunks, {v.created_at:%Y-%m-%dT%H:%M:%S}"
        )
    for c in doc.chunks:
        path = " › ".join(c.heading_path) or "(no heading)"
        page = f" p. {c.page}" if c.page else ""
        out.print(f"\n[bold]#{c.ordinal}[/bold] {path}{page}")
        if c.question:
            out.print(f"Q: {c.question}", markup=False)
        out.print(c.text, markup=False, highlight=False)


@documents_app.command("owner")
def documents_owner(
    document_id: Annotated[str, typer.Argument(metavar="ID")],
    owner: Annotated[
        str | None, typer.Option(help='E-mail of a manager or admin; "" clears it.')
    ] = None,
    interval: Annotated[
        int | None, typer.Option(help="Days between reviews; 0 clears it.", min=0)
    ] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Set a document's owner and review interval (audited); an option left out is kept."""
    if owner is None and interval is None:
        raise fail("give --owner, --interval or both")
    edit = OwnershipEdit(owner=owner, interval_days=interval)
    _print_review(set_ownership(open_kb(data_dir), document_id, edit, actor=ACTOR), as_json)


@documents_app.command("reviewed")
def documents_reviewed(
    document_id: Annotated[str, typer.Argument(metavar="ID")],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Mark a document reviewed as it is (audited): its review clock starts again."""
    _print_review(mark_reviewed(open_kb(data_dir), document_id, actor=ACTOR), as_json)


def _print_review(doc: DocumentDetail, as_json: bool) -> None:
    if as_json:
        out.print_json(data=doc.model_dump(mode="json", exclude={"chunks"}))
        return
    every = f"every {doc.review_interval_days} days" if doc.review_interval_days else "no review"
    due = f", due {doc.review_due}" if doc.review_due else ""
    late = " (overdue)" if doc.due_for_review else ""
    out.print(f"{doc.title} ({doc.id}): owner {doc.owner or '-'}, {every}{due}{late}", markup=False)


@documents_app.command("delete")
def documents_delete(
    document_id: Annotated[str, typer.Argument(metavar="ID")], data_dir: DataDir = None
) -> None:
    """Delete a document and all its versions; it leaves search results at once."""
    gone = delete_document(open_kb(data_dir), document_id, actor=ACTOR)
    out.print(f"deleted {gone.title} ({gone.id})")


@index_app.command("rebuild")
def index_rebuild(collection: Collection = None, data_dir: DataDir = None) -> None:
    """Rebuild a collection's index from the database (e.g. after changing the embedder)."""
    kb = open_kb(data_dir)
    name = collection or kb.settings.default_collection
    with kb.collection_lock(name):
        count = rebuild_index(kb, name)
    out.print(f"rebuilt {name}: {count} chunks")


@index_app.command("merge")
def index_merge(collection: Collection = None, data_dir: DataDir = None) -> None:
    """Merge a collection's delta segments into one main segment now (the server does it in
    the background when they pile up); searches and writes go on meanwhile."""
    kb = open_kb(data_dir)
    name = collection or kb.settings.default_collection
    meta = merge_segments(kb, name)
    if meta is None:
        out.print(f"{name}: nothing to merge")
    else:
        out.print(f"merged {name}: {meta.chunk_count} chunks, generation {meta.generation}")


def expand(paths: list[Path]) -> list[Path]:
    """Files named, and in folders every file whose format ``ingest`` can read."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and extension(p.name) in SUPPORTED_EXTENSIONS
            )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise fail(f"{path}: no such file or folder")
    return files
