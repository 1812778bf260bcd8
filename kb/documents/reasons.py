"""Why a file (or a whole job) failed to ingest, in the reader's language.

The ingest package (which knows nothing of kb or of languages) fails a file with an English
reason; every reason it can give is written here as a template, so that a reason stored in a
job's results or returned by an upload is shown translated (``reason_message``). A reason that
matches none is shown as it is. tests/web/test_i18n_errors.py drives real failing files through the
parser and holds each of their reasons to a form here.
"""

from __future__ import annotations

import re

from kb.errors import N_, Message, parsed
from kb.faults import (
    DATABASE_DISK_FULL,
    DATABASE_SERVER_DISK_FULL,
    DATABASE_UNAVAILABLE,
    DISK_FULL,
    DISK_FULL_WRITING,
)

# Most specific first: a form's fields match any text, so a general form would hide a narrower one.
INGEST_REASON_FORMS: tuple[Message, ...] = (
    # ingest/loaders/__init__.py, ingest/pipeline.py, kb/documents/ingestion.py
    N_("the file is empty"),
    N_("no text found after cleaning"),
    N_("file is over the {limit}-byte upload limit"),
    N_("file is {size} bytes, over the {limit}-byte upload limit"),
    N_("file is over the {limit}-byte limit"),
    N_("file is {size} bytes, over the {limit}-byte limit"),
    N_(
        "the file would make {chunks} chunks, over the limit of {limit} per document; "
        "split it into smaller files"
    ),
    N_("cannot decode the text: {detail}"),
    N_("could not read the {format} file: it looks damaged or truncated ({detail})"),
    N_("no text found in the {format} file"),
    # ingest/detect.py
    N_("legacy Word .doc files are not supported; open it in Word and save as .docx"),
    N_("legacy Excel .xls files are not supported; open it in Excel and save as .xlsx"),
    N_("PowerPoint files are not supported; export the slides as PDF"),
    N_("legacy Office files (.doc/.xls) are not supported; save as .docx or .xlsx"),
    N_("zip archives are not supported; upload the files inside"),
    N_("unsupported file type: PNG image"),
    N_("unsupported file type: JPEG image"),
    N_("unsupported file type: GIF image"),
    N_("unsupported file type: gzip archive"),
    N_("unsupported file type: 7-Zip archive"),
    N_("unsupported file type: RAR archive"),
    N_("unsupported file type: executable"),
    N_("unsupported file type: RTF document (save it as .docx)"),
    N_(
        "unsupported file type '.{extension}'; supported: PDF, DOCX, XLSX, HTML, Markdown, TXT, "
        "CSV, JSON, JSONL"
    ),
    # ingest/loaders/_package.py
    N_("the {format} file holds {parts} parts (limit {limit})"),
    N_(
        "the {format} file would unpack to {size} bytes (limit {limit} bytes): "
        "refusing a possible zip bomb"
    ),
    N_(
        "part '{part}' of the {format} file inflates {ratio} times to {size} bytes: "
        "refusing a zip bomb"
    ),
    N_(
        "part '{part}' of the {format} file declares a DTD (XML entities), which Office never "
        "writes: refusing it"
    ),
    # ingest/loaders/faq.py
    N_(
        "no question/answer columns found (headers seen: {headers}); name them e.g. 'question' "
        "and 'answer', or 问题 and 答案"
    ),
    N_("the CSV file is malformed: {detail}"),
    # ingest/loaders/corpus.py
    N_("JSON nested too deeply (over about 1 000 levels of arrays or objects)"),
    N_("line {line}: JSON nested too deeply (over about 1 000 levels of arrays or objects)"),
    N_("line {line} is not valid JSON: {detail}"),
    N_("invalid JSON at line {line}, column {column}: {detail}"),
    N_("JSON must be a list of objects"),
    N_("JSON must be a list of objects or an object with a list under one of: {keys}"),
    N_("record {record} is not a JSON object"),
    N_("record {record} has no 'id'"),
    N_(
        "JSON records need 'question' and 'answer' keys (FAQ) or 'id' and 'text' keys (corpus); "
        "keys found: {keys}"
    ),
    # ingest/loaders/pdf.py
    N_("not a PDF file: it has no %PDF header (renamed from another type?)"),
    N_("the PDF is encrypted (password-protected); remove the password"),
    N_("no text found in the PDF (a scanned image? OCR is not supported)"),
    N_("page {page}'s content inflates to over {limit} MB: refusing a possible decompression bomb"),
    # ingest/fence.py (the parser's worker and its limits)
    N_(
        "parsing needed more than {limit} MB of memory: refusing a possible decompression bomb "
        "(a genuine file this large can be split into smaller ones)"
    ),
    N_(
        "parsing took longer than {limit} s: refusing a possible decompression bomb "
        "(a genuine file this large can be split into smaller ones)"
    ),
    N_("the parser's answer could not be read"),
    N_(
        "the parsed text is over {size} MB ({factor} times the largest file accepted): "
        "split the file into smaller ones"
    ),
    N_("the parser stopped unexpectedly (exit status {code})"),
)


def reason_message(reason: str) -> Message:
    """A stored ingest failure reason as a translatable Message (its values stay as they are)."""
    return parsed(reason, INGEST_REASON_FORMS)


# --- why a whole job failed ----------------------------------------------------------------
#
# A job's ``error`` column holds "{code}: {English message}": the code is stable for programs
# (``IngestJobPublic.error_code``), the message is shown in the reader's language through these
# forms. Rows written before codes existed ("interrupted: …", "ValueError: …") read the same way.

JOB_INTERRUPTED = N_("the process running this job stopped before it finished; upload again")
JOB_UNEXPECTED = N_("an unexpected error stopped the job ({detail}); the server log has details")

JOB_VECTORS_FAILED = N_(
    "the documents are findable by keyword, but their passages could not be embedded "
    "({detail}); the next start-up or kb check --repair embeds them"
)
VECTORS_FAILED = "vectors_failed"  # the code of that error

JOB_ERROR_FORMS: tuple[Message, ...] = (
    JOB_INTERRUPTED,
    JOB_UNEXPECTED,
    # kb/faults.py: the machine beneath the job
    DISK_FULL_WRITING,
    DATABASE_DISK_FULL,
    DATABASE_SERVER_DISK_FULL,
    DISK_FULL,
    DATABASE_UNAVAILABLE,
    JOB_VECTORS_FAILED,
)

# Codes a stored error may start with: ours and every KBError's (kb/errors.py).
_CODED = re.compile(r"([a-z][a-z_]{1,31}): (.*)", re.S)
UNKNOWN_JOB_ERROR = "internal"


def job_error_text(code: str, message: str) -> str:
    """What a failed job stores: its code and its English message."""
    return f"{code}: {message}"


def job_error(stored: str) -> tuple[str, Message]:
    """A stored job error as (stable code, translatable Message)."""
    match = _CODED.fullmatch(stored)
    code, text = (match[1], match[2]) if match else (UNKNOWN_JOB_ERROR, stored)
    return code, job_error_message(text)


def job_error_message(message: str) -> Message:
    """A job's public ``error`` (its message without the code) as a translatable Message."""
    return parsed(message, JOB_ERROR_FORMS)
