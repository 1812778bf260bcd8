"""Console forms: raw strings and uploads in, service arguments or per-field error messages out.

A refused form is shown again by one handler: a route runs its service calls inside
``form_errors(template, block, context)``, and a domain error there becomes a ``FormError``
that carries the form's state; ``render_form_error`` renders it into the page's form block.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from fastapi import Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from kb.documents.catalog import MetadataEdit
from kb.documents.ingestion import DocumentMeta, IngestItem, safe_name
from kb.documents.ownership import OwnershipEdit
from kb.documents.schemas import DocumentPublic
from kb.errors import N_, Invalid, KBError
from kb.library.rulefile import RuleFileError

Errors = dict[str, str]


Finish = Callable[[Response], Response]


class FormError(Exception):
    """A refused form and what it takes to show it again: template, block and context."""

    def __init__(
        self,
        template: str,
        block: str,
        context: dict[str, Any],
        status_code: int = 422,
        finish: Finish | None = None,
    ) -> None:
        super().__init__(f"form of {template}#{block} refused")
        self.template = template
        self.block = block
        self.context = context
        self.status_code = status_code
        self.finish = finish  # what the page adds to every answer (e.g. the panel's CSP)


@contextmanager
def form_errors(
    template: str,
    block: str,
    context: Callable[[Any], dict[str, Any]],
    *,
    catch: type[KBError] = Invalid,
    status_code: int | None = 422,
    finish: Finish | None = None,
) -> Iterator[None]:
    """A ``catch`` error raised inside comes back as the form's block, built by ``context(exc)``.

    422 by default, since HTMX swaps that answer in; ``status_code=None`` keeps the error's own.
    Other errors (a document that is gone, a bug) go on to the one error page.
    """
    try:
        yield
    except catch as exc:
        status = exc.status_code if status_code is None else status_code
        raise FormError(template, block, context(exc), status, finish) from exc


async def render_form_error(request: Request, exc: FormError) -> Response:
    """The one form-error handler: the page, or for HTMX its form block, with the errors."""
    renderer = request.app.state.renderer
    response: Response = renderer.page(
        request, exc.template, exc.context, block=exc.block, status_code=exc.status_code
    )
    return exc.finish(response) if exc.finish else response


def field_errors(exc: KBError, default_field: str) -> Errors:
    """A domain error as the form shows it: its message under its field (or ``default_field``)."""
    return {exc.field or default_field: exc.message}


def read_upload(
    file: UploadFile | None, limit: int, *, field: str, missing: str, check_size: bool = True
) -> tuple[str, bytes]:
    """An uploaded file's name and bytes; Invalid on ``field`` if none was chosen or it is too big.

    Reading limit+1 bytes is enough to know "too large" without holding a huge upload; with
    ``check_size`` off, ingestion reports the size as that file's failure instead.
    """
    # A file input with nothing chosen still sends one part, with an empty name.
    if file is None or not file.filename:
        raise Invalid(missing, field=field)
    data = file.file.read(limit + 1)
    if check_size and len(data) > limit:
        # Only limit+1 bytes were read, so the file's own size is unknown: say the limit.
        raise Invalid(
            "{filename} is over the {limit}-byte limit",
            field=field,
            filename=file.filename,
            limit=f"{limit:,}",
        )
    return file.filename, data


def read_text_upload(file: UploadFile | None, limit: int) -> tuple[str, str]:
    """A small uploaded text file (UTF-8, BOM allowed): its name and text, or Invalid on 'file'."""
    name, data = read_upload(file, limit, field="file", missing="choose a file to import")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RuleFileError(name, line, N_("not UTF-8 text; save the file as UTF-8")) from exc
    return name, text


_TAG_SPLIT = re.compile(r"[,，、;；]")


def split_tags(text: str) -> list[str]:
    """``"退货, 运费，退货"`` → ``["退货", "运费"]``: ASCII or Chinese separators, no repeats."""
    seen: dict[str, None] = {}
    for tag in _TAG_SPLIT.split(text):
        if tag := tag.strip():
            seen.setdefault(tag[:64])
    return list(seen)


def parse_date(value: str, field: str, errors: Errors) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[field] = f"{value!r} is not a date; use YYYY-MM-DD"
        return None


class MetadataForm(BaseModel):
    """The document page's metadata form, exactly as the browser sent it."""

    model_config = ConfigDict(populate_by_name=True)

    title: str = ""
    doc_type: str = Field("", alias="type")
    tags: str = ""
    product: str = ""
    valid_from: str = ""
    valid_to: str = ""

    @classmethod
    def of(cls, doc: DocumentPublic) -> MetadataForm:
        return cls(
            title=doc.title,
            doc_type=doc.doc_type,
            tags=", ".join(doc.tags),
            product=doc.product or "",
            valid_from=doc.valid_from.isoformat() if doc.valid_from else "",
            valid_to=doc.valid_to.isoformat() if doc.valid_to else "",
        )

    def parse(self) -> tuple[MetadataEdit, Errors]:
        """The edit for ``update_metadata`` and the errors found before calling it."""
        errors: Errors = {}
        if not self.title.strip():
            errors["title"] = "title is empty"
        edit = MetadataEdit(
            title=self.title.strip(),
            doc_type=self.doc_type or None,
            tags=split_tags(self.tags),
            product=self.product.strip(),
            valid_from=parse_date(self.valid_from, "valid_from", errors),
            valid_to=parse_date(self.valid_to, "valid_to", errors),
            # The form shows both dates, so an empty one means "no limit".
            clear_dates=True,
        )
        return edit, errors


class OwnershipForm(BaseModel):
    """The document page's owner and review form, exactly as the browser sent it."""

    owner: str = ""  # an e-mail; "" is no owner
    review_interval_days: str = ""  # "" is no review

    @classmethod
    def of(cls, doc: DocumentPublic) -> OwnershipForm:
        days = doc.review_interval_days
        return cls(owner=doc.owner or "", review_interval_days=str(days) if days else "")

    def parse(self) -> OwnershipEdit:
        """The edit for ``set_ownership``; raises Invalid naming the field."""
        days = self.review_interval_days.strip()
        if days and not days.isdigit():
            raise Invalid(
                "review_interval_days must be a whole number of days, not {value!r}",
                field="review_interval_days",
                value=days[:20],
            )
        # Empty (or 0, as in `kb documents owner --interval 0`) clears it.
        return OwnershipEdit(owner=self.owner.strip(), interval_days=int(days) if days else 0)


def upload_meta(doc_type: str, tags: str) -> DocumentMeta:
    """Metadata for every file of one upload; raises Invalid naming the field."""
    return DocumentMeta(doc_type=doc_type or None, tags=tuple(split_tags(tags)))


def read_uploads(files: list[UploadFile], meta: DocumentMeta, limit: int) -> list[IngestItem]:
    """The chosen files of a document upload (ingestion checks each one's size and format)."""
    chosen = [f for f in files if f.filename]
    return [
        IngestItem(*read_upload(f, limit, field="files", missing="", check_size=False), meta)
        for f in chosen
    ]


def reingest_item(doc: DocumentPublic, file: UploadFile | None, limit: int) -> IngestItem:
    """A new version of ``doc``: stored under its file name, so it must be the same format."""
    name, data = read_upload(
        file, limit, field="file", missing="choose a file to upload", check_size=False
    )
    expected = PurePosixPath(doc.source_name).suffix.lower()
    got = PurePosixPath(safe_name(name)).suffix.lower()
    if got != expected:
        want = expected or "suffix-less"
        raise Invalid(
            "{value!r} is a {value2} file; this document is "
            "{source_name!r}, so upload a {want} file",
            field="file",
            value=safe_name(name),
            value2=got or "suffix-less",
            source_name=doc.source_name,
            want=want,
        )
    # Keep the title the manager may have edited; other metadata is kept by ingestion itself.
    meta = DocumentMeta(title=doc.title)
    return IngestItem(doc.source_name, data, meta)
