"""Format loaders: ``load_document`` turns a file's bytes into structured blocks."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ingest.detect import detect_format
from ingest.encoding import DecodeError
from ingest.loaders.corpus import load_records
from ingest.loaders.docx import load_docx
from ingest.loaders.faq import load_csv, load_xlsx
from ingest.loaders.html import load_html
from ingest.loaders.markdown import load_markdown
from ingest.loaders.pdf import load_pdf
from ingest.loaders.text import load_text
from ingest.model import IngestError, LoadedDocument

__all__ = ["load_document"]

logger = logging.getLogger(__name__)

_LOADERS: dict[str, Callable[[bytes], LoadedDocument]] = {
    "pdf": load_pdf,
    "docx": load_docx,
    "xlsx": load_xlsx,
    "html": load_html,
    "markdown": load_markdown,
    "text": load_text,
    "csv": load_csv,
    "json": lambda data: load_records(data, lines=False),
    "jsonl": lambda data: load_records(data, lines=True),
}
_LABELS = {"pdf": "PDF", "docx": "Word (DOCX)", "xlsx": "Excel (XLSX)"}


def load_document(filename: str, data: bytes) -> LoadedDocument:
    """Detect the format and parse ``data``; every failure is an ``IngestError`` with a reason.

    ``filename`` only informs format detection and messages: nothing is read from disk.
    """
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise IngestError(filename, "the file is empty")
    fmt = detect_format(filename, data)
    try:
        document = _LOADERS[fmt](data)
    except IngestError as exc:
        raise IngestError(filename, exc.reason) from exc
    except DecodeError as exc:
        raise IngestError(filename, f"cannot decode the text: {exc}") from exc
    except Exception as exc:
        # Parsers raise anything on malformed input (zip, XML, PDF syntax errors); the user
        # needs to know the file is damaged, not which library tripped.
        logger.info("could not parse %s as %s", filename, fmt, exc_info=True)
        label = _LABELS.get(fmt, fmt.upper())
        raise IngestError(
            filename, f"could not read the {label} file: it looks damaged or truncated ({exc})"
        ) from exc
    if not any(block.text.strip() for block in document.blocks):
        raise IngestError(filename, f"no text found in the {_LABELS.get(fmt, fmt)} file")
    return document
