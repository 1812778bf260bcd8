"""Tell a file's format from its bytes first, its name second, its content third."""

from __future__ import annotations

import io
import json
import re
import zipfile

from ingest.model import IngestError

FORMATS = ("pdf", "docx", "xlsx", "html", "markdown", "text", "csv", "json", "jsonl")

_EXTENSIONS = {
    "pdf": "pdf",
    "docx": "docx",
    "docm": "docx",
    "xlsx": "xlsx",
    "xlsm": "xlsx",
    "htm": "html",
    "html": "html",
    "xhtml": "html",
    "md": "markdown",
    "markdown": "markdown",
    "mdown": "markdown",
    "mkd": "markdown",
    "txt": "text",
    "text": "text",
    "log": "text",
    "csv": "csv",
    "tsv": "csv",
    "json": "json",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
}

# What a folder ingest picks up: every name we can read (legacy formats are refused by name).
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_EXTENSIONS)

_LEGACY = {
    "doc": "legacy Word .doc files are not supported; open it in Word and save as .docx",
    "xls": "legacy Excel .xls files are not supported; open it in Excel and save as .xlsx",
    "ppt": "PowerPoint files are not supported; export the slides as PDF",
    "pptx": "PowerPoint files are not supported; export the slides as PDF",
}

# Binary formats we recognise only to refuse them with a helpful name.
_BINARY_MAGIC = (
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf", "7-Zip archive"),
    (b"Rar!", "RAR archive"),
    (b"\x7fELF", "executable"),
    (b"MZ", "executable"),
    (b"{\\rtf", "RTF document (save it as .docx)"),
)

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HTML_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S
)
_MD_HEADING = re.compile(r"^#{1,6}\s+\S", re.M)


def extension(filename: str) -> str:
    """Lower-case extension of the last path component, without the dot ("" if none)."""
    name = re.split(r"[\\/]", filename)[-1]
    return name.rsplit(".", 1)[1].lower() if "." in name.strip(".") else ""


def _zip_kind(data: bytes) -> str | None:
    """docx/xlsx/pptx from the members of a zip; a truncated zip is judged by raw member names."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        # The central directory is at the end; local headers still name the members.
        names = [
            m.decode("latin-1")
            for m in re.findall(rb"PK\x03\x04.{26}([^\x00]{1,64}?\.xml)", data[:65536], re.S)
        ]
    if any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    if any(n.startswith("ppt/") for n in names):
        return "pptx"
    return None


def _sniff_text(head: bytes) -> str | None:
    """html, json, jsonl or markdown from the start of a text file; None when it is plain text."""
    stripped = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if _HTML_START.match(stripped):
        return "html"
    text = stripped.decode("utf-8", errors="ignore")
    if text[:1] in "[{":
        first_line = text.split("\n", 1)[0].strip()
        if text[:1] == "{" and "\n" in text.strip():
            try:
                if isinstance(json.loads(first_line), dict):
                    return "jsonl"
            except ValueError:
                pass
        return "json"
    if _MD_HEADING.search(text):
        return "markdown"
    return None


def detect_format(filename: str, data: bytes) -> str:
    """One of ``FORMATS`` for this file, or ``IngestError`` naming what is unsupported."""
    ext = extension(filename)
    if data.startswith(b"%PDF") or data[:1024].lstrip().startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        kind = _zip_kind(data)
        if kind in ("docx", "xlsx"):
            return kind
        if kind == "pptx":
            raise IngestError(filename, _LEGACY["pptx"])
        if _EXTENSIONS.get(ext) in ("docx", "xlsx"):
            return _EXTENSIONS[ext]  # damaged package: the loader reports it
        raise IngestError(filename, "zip archives are not supported; upload the files inside")
    if data.startswith(_OLE_MAGIC) or ext in _LEGACY:
        reason = _LEGACY.get(ext) or (
            "legacy Office files (.doc/.xls) are not supported; save as .docx or .xlsx"
        )
        raise IngestError(filename, reason)
    for magic, label in _BINARY_MAGIC:
        if data.startswith(magic):
            raise IngestError(filename, f"unsupported file type: {label}")

    fmt = _EXTENSIONS.get(ext)
    if fmt in ("pdf", "docx", "xlsx"):
        return fmt  # wrong magic: the loader reports the damage
    if ext and fmt is None:
        raise IngestError(
            filename,
            f"unsupported file type '.{ext}'; supported: PDF, DOCX, XLSX, HTML, Markdown, TXT, "
            "CSV, JSON, JSONL",
        )
    sniffed = _sniff_text(data[:4096])
    if fmt is None:
        return sniffed or "text"
    if fmt == "text" and sniffed == "html":
        return "html"  # a web page saved as .txt
    return fmt
