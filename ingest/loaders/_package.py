"""Check an Office package (DOCX, XLSX) before a library unpacks it: bombs and DTDs refused.

python-docx reads every part into memory and openpyxl streams sheets through the standard XML
parser, so neither is safe on its own against a zip bomb or an entity declaration. The sizes
checked are the central directory's: ``zipfile`` never inflates a member past its declared
size (a lying header ends in a CRC error), so declared sizes bound what can be unpacked.
"""

from __future__ import annotations

import io
import re
import zipfile

from ingest.model import IngestError
from ingest.sizes import byte_size

MAX_MEMBERS = 10_000
MAX_UNPACKED_BYTES = 200_000_000  # all parts together, as declared
# A part that inflates past this size at more than this ratio is a bomb: XML deflates 5-20:1,
# images and media hardly at all, a run of zeros about 1000:1.
BOMB_MEMBER_BYTES = 10_000_000
BOMB_RATIO = 200
_PROLOG_BYTES = 65_536  # where an XML part's DOCTYPE would have to be
_XML_PART = re.compile(r"\.(?:xml|rels|vml)$", re.I)
# Comments and processing instructions may come before the root element; nothing else may.
_PROLOG = re.compile(rb"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*", re.S)


def check_package(data: bytes, label: str) -> None:
    """Raise ``IngestError`` if the package could unpack to too much or declares XML entities."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a readable zip: the library's own error says the file is damaged
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise IngestError(
                "", f"the {label} file holds {len(members):,} parts (limit {MAX_MEMBERS:,})"
            )
        total = sum(m.file_size for m in members)
        if total > MAX_UNPACKED_BYTES:
            raise IngestError(
                "",
                f"the {label} file would unpack to {byte_size(total)} "
                f"(limit {byte_size(MAX_UNPACKED_BYTES)}): refusing a possible zip bomb",
            )
        for member in members:
            ratio = member.file_size / max(1, member.compress_size)
            if member.file_size > BOMB_MEMBER_BYTES and ratio > BOMB_RATIO:
                raise IngestError(
                    "",
                    f"part '{member.filename}' of the {label} file inflates {ratio:,.0f} times "
                    f"to {byte_size(member.file_size)}: refusing a zip bomb",
                )
        for member in members:
            if _XML_PART.search(member.filename) and _declares_dtd(archive, member):
                raise IngestError(
                    "",
                    f"part '{member.filename}' of the {label} file declares a DTD (XML "
                    "entities), which Office never writes: refusing it",
                )


def _declares_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """True when the part's prolog holds a DOCTYPE, or is too long to be an honest prolog."""
    try:
        with archive.open(member) as part:
            head = part.read(_PROLOG_BYTES)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        return False  # damaged or encrypted: the library reports it
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    head = head.removeprefix(b"\xef\xbb\xbf")
    prolog = _PROLOG.match(head)
    rest = head[prolog.end() if prolog else 0 :]
    if not rest:
        return len(head) >= _PROLOG_BYTES  # 64 KB of comments before the root: hiding a DTD
    return rest[:9].upper() == b"<!DOCTYPE"
