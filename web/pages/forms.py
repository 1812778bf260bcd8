"""Console forms: raw strings in, service arguments or per-field error messages out."""

from __future__ import annotations

import re
from datetime import date
from pathlib import PurePosixPath

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field

from kb.documents.catalog import MetadataEdit
from kb.documents.ingestion import DocumentMeta, IngestItem, safe_name
from kb.documents.schemas import DocumentPublic
from kb.errors import Invalid

Errors = dict[str, str]

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


def upload_meta(doc_type: str, tags: str) -> DocumentMeta:
    """Metadata for every file of one upload; raises Invalid naming the field."""
    return DocumentMeta(doc_type=doc_type or None, tags=tuple(split_tags(tags)))


def read_uploads(files: list[UploadFile], meta: DocumentMeta, limit: int) -> list[IngestItem]:
    # A file input with nothing chosen still sends one part with an empty name.
    # Reading limit+1 bytes is enough to report "too large" without holding a huge upload.
    return [
        IngestItem(f.filename or "unnamed", f.file.read(limit + 1), meta)
        for f in files
        if f.filename
    ]


def reingest_item(doc: DocumentPublic, file: UploadFile | None, limit: int) -> IngestItem:
    """A new version of ``doc``: stored under its file name, so it must be the same format."""
    if file is None or not file.filename:
        raise Invalid("choose a file to upload", field="file")
    expected = PurePosixPath(doc.source_name).suffix.lower()
    got = PurePosixPath(safe_name(file.filename)).suffix.lower()
    if got != expected:
        want = expected or "suffix-less"
        raise Invalid(
            f"{safe_name(file.filename)!r} is a {got or 'suffix-less'} file; "
            f"this document is {doc.source_name!r}, so upload a {want} file",
            field="file",
        )
    # Keep the title the manager may have edited; other metadata is kept by ingestion itself.
    meta = DocumentMeta(title=doc.title)
    return IngestItem(doc.source_name, file.file.read(limit + 1), meta)
