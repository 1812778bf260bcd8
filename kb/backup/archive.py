"""The backup archive: a gzipped tar whose first member is ``manifest.json``.

The manifest lists every other member with its size and SHA-256, so a truncated or altered
archive is refused before anything of it is put in place; its ``format_version`` says which
build can read it. Member names are checked against a fixed set of top-level entries, never
trusted as paths.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ValidationError

from kb.errors import Invalid

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/assistkb.sqlite3"
PG_DUMP_MEMBER = "database/assistkb.pgdump"  # pg_dump's custom format, read by pg_restore
INDEX_DIR = "index"
SECRET_MEMBER = "secret_key"
CACHE_MEMBER = "cache/embeddings.sqlite3"
_TOP_LEVEL = frozenset({"database", INDEX_DIR, SECRET_MEMBER, "cache"})
_BLOCK = 1 << 20

Backend = Literal["sqlite", "postgresql"]


class FileEntry(BaseModel):
    size: int
    sha256: str


class CollectionEntry(BaseModel):
    """A collection's live generation as it was backed up, with the content it reflects."""

    generation: str
    fingerprint: str
    chunk_count: int


class Manifest(BaseModel):
    format_version: int
    app_version: str
    schema_revision: str | None
    backend: Backend
    created: str  # ISO 8601, UTC
    with_cache: bool
    collections: dict[str, CollectionEntry]
    files: dict[str, FileEntry]


def app_version() -> str:
    try:
        return metadata.version("assistkb")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def file_entry(path: Path) -> FileEntry:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return FileEntry(size=path.stat().st_size, sha256=digest.hexdigest())


def payload_files(root: Path) -> dict[str, FileEntry]:
    """Every file under ``root`` by its archive name (POSIX, relative), in a stable order."""
    found = sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): file_entry(p) for p in found}


def write_archive(target: Path, root: Path, manifest: Manifest) -> None:
    """Write ``root``'s files and ``manifest`` to ``target`` atomically (a temp file renamed)."""
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        with tarfile.open(temporary, "w:gz") as tar:
            body = manifest.model_dump_json(indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(body), 0o600, int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(body))
            for name in manifest.files:
                tar.add(root / name, arcname=name, recursive=False)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def check_name(name: str, archive: Path) -> None:
    """Refuse a member name that is not one of the archive's own kinds of entry."""
    path = PurePosixPath(name)
    parts = path.parts
    if path.is_absolute() or not parts or parts[0] not in _TOP_LEVEL or ".." in parts:
        raise Invalid(f"{archive}: unexpected member {name!r}; not a kb backup", field="archive")


def read_manifest(
    tar: tarfile.TarFile, archive: Path
) -> tuple[Manifest, Iterator[tarfile.TarInfo]]:
    """The manifest (checked) and an iterator over the members after it."""
    members = iter(tar)
    first = next(members, None)
    if first is None or first.name != MANIFEST or not first.isfile():
        raise Invalid(f"{archive} does not start with {MANIFEST}: not a kb backup", field="archive")
    handle = tar.extractfile(first)
    assert handle is not None  # a regular file
    try:
        manifest = Manifest.model_validate(json.loads(handle.read()))
    except (ValueError, ValidationError) as exc:
        raise Invalid(f"{archive}: {MANIFEST} is unreadable ({exc})", field="archive") from exc
    if manifest.format_version > FORMAT_VERSION:
        raise Invalid(
            f"{archive} is backup format {manifest.format_version}, written by AssistKB "
            f"{manifest.app_version}; this build reads formats up to {FORMAT_VERSION}: restore it "
            "with that build or a newer one",
            field="archive",
        )
    for name in manifest.files:
        check_name(name, archive)
    return manifest, members


def extract_verified(archive: Path, into: Path) -> Manifest:
    """Extract every member listed in the manifest into ``into``, checking size and SHA-256.

    Raises :class:`Invalid` naming the archive and the member on any damage, truncation or
    unexpected content; ``into`` may then hold part of it (the caller removes it)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            manifest, members = read_manifest(tar, archive)
            seen: set[str] = set()
            for member in members:
                name = member.name
                if name not in manifest.files or name in seen or not member.isfile():
                    raise Invalid(
                        f"{archive}: member {name!r} is not in its manifest; not a kb backup",
                        field="archive",
                    )
                seen.add(name)
                _extract_one(tar, member, into / name, manifest.files[name], archive)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise Invalid(
            f"{archive} is damaged or truncated ({type(exc).__name__}: {exc}); nothing was "
            "restored",
            field="archive",
        ) from exc
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise Invalid(
            f"{archive} is incomplete: {len(missing)} listed files are missing, e.g. {missing[0]}",
            field="archive",
        )
    return manifest


def _extract_one(
    tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path, expected: FileEntry, archive: Path
) -> None:
    source = tar.extractfile(member)
    assert source is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with open(path, "wb") as handle:
        while block := source.read(_BLOCK):
            digest.update(block)
            size += len(block)
            handle.write(block)
    if (size, digest.hexdigest()) != (expected.size, expected.sha256):
        raise Invalid(
            f"{archive}: {member.name} fails its checksum (the archive is damaged); nothing was "
            "restored",
            field="archive",
        )
