"""A segment's chunks as memory-mapped columns (generation format 2), instead of ``chunks.json``.

``chunks.json`` was read whole at start-up (one object per chunk, each text twice: 28.8 MB at
20k chunks). A segment of format 2 keeps its chunks in ``chunks/``:

- ``strings.bin``: the UTF-8 of each row's free-text fields (:data:`STRINGS`), back to back;
  ``index_text`` is stored as the head it adds to ``text`` when it ends with it (it does when
  kb builds it: context, title, question, then the text), so the text is stored once;
- ``offsets.npy``: int64, where each row's each string starts (``rows * len(STRINGS) + 1``);
- ``absent.npy``: bool, ``rows × len(STRINGS)``: the string is None;
- ``numbers.npy``: int64, ``rows × len(NUMBERS)``: version, page, validity dates (ordinals),
  and the codes of the few-valued fields (:data:`CATEGORIES`, -1 for none);
- ``tag_indptr.npy`` / ``tag_codes.npy``: each row's tags (CSR);
- ``columns.json``: the row count, the names above and each categorical field's values.

Every array is opened with ``mmap_mode="r"`` and the strings with ``mmap``: loading costs a few
small reads whatever the size, the pages are shared by every process serving the segment, and a
row becomes an ``IndexedChunk`` only when a searcher returns it. The filter columns a searcher
needs are handed over as arrays (:meth:`ChunkTable.columns`).
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, overload

import numpy as np

from search.chunkcolumns import NO_DATE, Categorical, ChunkColumns, chunk_columns
from search.segments import read_chunks
from search.types import IndexedChunk

TABLE_DIR = "chunks"
LEGACY_FILE = "chunks.json"  # format 1
STRINGS = ("chunk_id", "text", "index_head", "question", "external_id", "section")
CATEGORIES = ("document_id", "document_title", "doc_type", "kind", "product", "language")
NUMBERS = ("version", "page", "valid_from", "valid_to", "index_tail", *CATEGORIES)
_NO_PAGE = np.iinfo(np.int64).min
_COLUMNS_FILE = "columns.json"


class ChunkTableError(ValueError):
    """A chunk table whose files do not fit together (truncated, or from another layout)."""


def write_table(directory: Path, chunks: Sequence[IndexedChunk]) -> None:
    """Write ``chunks`` as the table of the segment in ``directory`` (``directory/chunks/``)."""
    target = directory / TABLE_DIR
    target.mkdir()
    blob = bytearray()
    offsets = [0]
    absent: list[list[bool]] = []
    numbers: list[list[int]] = []
    values: dict[str, dict[str, int]] = {name: {} for name in (*CATEGORIES, "tag")}
    tag_indptr, tag_codes = [0], list[int]()
    for c in chunks:
        tail = bool(c.text) and c.index_text.endswith(c.text)
        head = c.index_text[: len(c.index_text) - len(c.text)] if tail else c.index_text
        section = json.dumps(list(c.section), ensure_ascii=False)
        strings = (c.chunk_id, c.text, head, c.question, c.external_id, section)
        for text in strings:
            blob += (text or "").encode()
            offsets.append(len(blob))
        absent.append([text is None for text in strings])
        codes = [_code(values[name], getattr(c, name)) for name in CATEGORIES]
        page = _NO_PAGE if c.page is None else c.page
        numbers.append(
            [c.version, page, _ordinal(c.valid_from), _ordinal(c.valid_to), int(tail), *codes]
        )
        tag_codes.extend(_code(values["tag"], tag) for tag in c.tags)
        tag_indptr.append(len(tag_codes))
    (target / "strings.bin").write_bytes(bytes(blob))
    arrays = {
        "offsets": np.asarray(offsets, dtype=np.int64),
        "absent": np.asarray(absent, dtype=bool).reshape(len(chunks), len(STRINGS)),
        "numbers": np.asarray(numbers, dtype=np.int64).reshape(len(chunks), len(NUMBERS)),
        "tag_indptr": np.asarray(tag_indptr, dtype=np.int64),
        "tag_codes": np.asarray(tag_codes, dtype=np.int32),
    }
    for name, array in arrays.items():
        np.save(target / f"{name}.npy", array, allow_pickle=False)
    layout = {
        "rows": len(chunks),
        "strings": list(STRINGS),
        "numbers": list(NUMBERS),
        "values": {name: list(index) for name, index in values.items()},
    }
    (target / _COLUMNS_FILE).write_text(json.dumps(layout, ensure_ascii=False), encoding="utf-8")


def load_chunks(directory: Path) -> Sequence[IndexedChunk]:
    """The chunks of the segment in ``directory``: its table, or an older segment's JSON."""
    if (directory / TABLE_DIR).is_dir():
        return ChunkTable(directory / TABLE_DIR)
    return read_chunks(directory / LEGACY_FILE)


class ChunkTable(Sequence[IndexedChunk]):
    """One segment's chunks, read from memory-mapped columns row by row when asked for."""

    def __init__(self, path: Path) -> None:
        layout = json.loads((path / _COLUMNS_FILE).read_text(encoding="utf-8"))
        if layout["strings"] != list(STRINGS) or layout["numbers"] != list(NUMBERS):
            raise ChunkTableError(f"chunk table {path} has another layout: rebuild the index")
        self._rows = int(layout["rows"])
        self._values: dict[str, list[str]] = layout["values"]
        self._offsets = _mapped(path / "offsets.npy", (self._rows * len(STRINGS) + 1,))
        self._absent = _mapped(path / "absent.npy", (self._rows, len(STRINGS)))
        self._numbers = _mapped(path / "numbers.npy", (self._rows, len(NUMBERS)))
        self._tag_indptr = _mapped(path / "tag_indptr.npy", (self._rows + 1,))
        self._tag_codes = _mapped(path / "tag_codes.npy", (int(self._tag_indptr[-1]),))
        self._blob = _mapped_bytes(path / "strings.bin", int(self._offsets[-1]))

    def __len__(self) -> int:
        return self._rows

    @overload
    def __getitem__(self, index: int) -> IndexedChunk: ...
    @overload
    def __getitem__(self, index: slice) -> list[IndexedChunk]: ...
    def __getitem__(self, index: int | slice) -> IndexedChunk | list[IndexedChunk]:
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(self._rows))]
        if index < 0:
            index += self._rows
        if not 0 <= index < self._rows:
            raise IndexError(f"row {index} of a table of {self._rows}")
        return self._row(index)

    def __iter__(self) -> Iterator[IndexedChunk]:
        return (self._row(i) for i in range(self._rows))

    def _row(self, i: int) -> IndexedChunk:
        width = len(STRINGS)
        bounds = self._offsets[i * width : (i + 1) * width + 1].tolist()
        absent = self._absent[i].tolist()
        blob = self._blob
        strings = [
            None if absent[j] else blob[bounds[j] : bounds[j + 1]].decode() for j in range(width)
        ]
        chunk_id, text, head, question, external_id, section = strings
        version, page, valid_from, valid_to, tail, *codes = self._numbers[i].tolist()
        named = {
            name: (None if code < 0 else self._values[name][code])
            for name, code in zip(CATEGORIES, codes, strict=True)
        }
        start, end = self._tag_indptr[i : i + 2].tolist()
        tags = self._values["tag"]
        values: dict[str, Any] = {
            **named,
            "chunk_id": chunk_id,
            "text": text,
            "index_text": f"{head}{text}" if tail else head,
            "section": tuple(json.loads(section or "[]")),
            "page": None if page == _NO_PAGE else page,
            "question": question,
            "external_id": external_id,
            "version": version,
            "tags": tuple(tags[code] for code in self._tag_codes[start:end].tolist()),
            "valid_from": None if valid_from == NO_DATE else date.fromordinal(valid_from),
            "valid_to": None if valid_to == NO_DATE else date.fromordinal(valid_to),
        }
        # As read_chunks does: every field set at once, without the frozen __init__'s setattr.
        chunk = object.__new__(IndexedChunk)
        chunk.__dict__.update(values)
        return chunk

    def columns(self) -> ChunkColumns:
        """The filter columns, straight from the mapped arrays (no row is decoded)."""
        numbers = self._numbers

        def category(name: str) -> Categorical:
            column = numbers[:, NUMBERS.index(name)]
            return Categorical(np.asarray(column, dtype=np.int32), self._values[name])

        counts = np.diff(np.asarray(self._tag_indptr))
        return ChunkColumns(
            rows=self._rows,
            document_id=category("document_id"),
            doc_type=category("doc_type"),
            product=category("product"),
            language=category("language"),
            tag_rows=np.repeat(np.arange(self._rows, dtype=np.int64), counts),
            tags=Categorical(np.asarray(self._tag_codes, dtype=np.int32), self._values["tag"]),
            valid_from=np.asarray(numbers[:, NUMBERS.index("valid_from")], dtype=np.int64),
            valid_to=np.asarray(numbers[:, NUMBERS.index("valid_to")], dtype=np.int64),
        )


class ChunkRows(Sequence[IndexedChunk]):
    """The rows of a generation of several segments: each segment's live rows, in order."""

    def __init__(self, parts: Sequence[tuple[Sequence[IndexedChunk], np.ndarray | None]]) -> None:
        # A part's live rows (ascending local rows), or None when every row is live.
        self._parts = list(parts)
        sizes = [len(s) if live is None else int(live.size) for s, live in self._parts]
        self._offsets = np.cumsum([0, *sizes]).astype(np.int64)

    def __len__(self) -> int:
        return int(self._offsets[-1])

    @overload
    def __getitem__(self, index: int) -> IndexedChunk: ...
    @overload
    def __getitem__(self, index: slice) -> list[IndexedChunk]: ...
    def __getitem__(self, index: int | slice) -> IndexedChunk | list[IndexedChunk]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"row {index} of {len(self)}")
        part = int(np.searchsorted(self._offsets, index, side="right")) - 1
        source, live = self._parts[part]
        local = index - int(self._offsets[part])
        return source[local if live is None else int(live[local])]

    def __iter__(self) -> Iterator[IndexedChunk]:
        for source, live in self._parts:
            if live is None:
                yield from source
            else:
                yield from (source[i] for i in live.tolist())

    def columns(self) -> ChunkColumns:
        parts = []
        for source, live in self._parts:
            columns = chunk_columns(source)
            parts.append(columns if live is None else columns.take(live))
        return ChunkColumns.concat(parts)


def _code(index: dict[str, int], value: str | None) -> int:
    return -1 if value is None else index.setdefault(value, len(index))


def _ordinal(day: date | None) -> int:
    return NO_DATE if day is None else day.toordinal()


def _mapped(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if array.shape != shape:
        raise ChunkTableError(f"{path} holds {array.shape}, the table needs {shape}")
    return array


def _mapped_bytes(path: Path, size: int) -> mmap.mmap | bytes:
    with open(path, "rb") as handle:
        actual = handle.seek(0, 2)
        if actual != size:
            raise ChunkTableError(f"{path} holds {actual} bytes, the table needs {size}")
        if size == 0:
            return b""  # an empty file cannot be mapped
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
