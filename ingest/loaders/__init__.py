"""Format loaders: ``load_document`` turns a file's bytes into structured blocks."""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable

from ingest.detect import detect_format
from ingest.encoding import DecodeError
from ingest.model import IngestError, LoadedDocument

__all__ = ["load_document"]

logger = logging.getLogger(__name__)

# format → (module, function, keyword arguments). Modules are imported on first use: the PDF,
# Word and Excel libraries cost about a second of start-up that a CLI run which re-ingests
# unchanged files (nothing to parse) should not pay.
_LOADERS: dict[str, tuple[str, str, dict[str, bool]]] = {
    "pdf": ("pdf", "load_pdf", {}),
    "docx": ("docx", "load_docx", {}),
    "xlsx": ("faq", "load_xlsx", {}),
    "html": ("html", "load_html", {}),
    "markdown": ("markdown", "load_markdown", {}),
    "text": ("text", "load_text", {}),
    "csv": ("faq", "load_csv", {}),
    "json": ("corpus", "load_records", {"lines": False}),
    "jsonl": ("corpus", "load_records", {"lines": True}),
}


def _loader(fmt: str) -> Callable[[bytes], LoadedDocument]:
    module, name, kwargs = _LOADERS[fmt]
    function = getattr(importlib.import_module(f"ingest.loaders.{module}"), name)
    return functools.partial(function, **kwargs) if kwargs else function


_LABELS = {"pdf": "PDF", "docx": "Word (DOCX)", "xlsx": "Excel (XLSX)"}


def load_document(filename: str, data: bytes) -> LoadedDocument:
    """Detect the format and parse ``data``; every failure is an ``IngestError`` with a reason.

    ``filename`` only informs format detection and messages: nothing is read from disk.
    """
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise IngestError(filename, "the file is empty")
    fmt = detect_format(filename, data)
    try:
        document = _loader(fmt)(data)
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
