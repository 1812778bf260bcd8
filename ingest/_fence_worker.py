"""A parser process of ``ingest.fence``: parses one file at a time, bounded by the kernel.

Run as ``python -m ingest._fence_worker MEMORY_BYTES IDLE_SECONDS``. Its address space is
capped (RLIMIT_AS) before any parser is imported; before each file its processor time is capped
(RLIMIT_CPU) at what it has used so far plus that file's budget, so an overrun ends in SIGXCPU.
Requests (pickles from the trusted parent) and answers (JSON, which the parent can read without
running anything a subverted parser sent) are length-prefixed on stdin and stdout; whatever a
library prints goes to stderr. It leaves when stdin closes (its parent is gone) or after
IDLE_SECONDS idle.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import pickle
import resource
import select
import struct
import sys
from typing import Any

HEADER = struct.Struct(">Q")


def read_exact(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``, or None at end of file."""
    parts: list[bytes] = []
    while size:
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            return None
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _memory_failure(exc: BaseException | None) -> bool:
    """A MemoryError anywhere in the chain (loaders wrap what their library raised)."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, MemoryError):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _parse(request: dict[str, Any]) -> tuple[Any, ...]:
    from ingest.model import IngestError
    from ingest.pipeline import parse_file

    try:
        parsed = parse_file(
            request["filename"],
            request["data"],
            max_bytes=request["max_bytes"],
            max_chars=request["max_chars"],
            max_chunks=request["max_chunks"],
        )
    except MemoryError:
        return ("memory",)
    except IngestError as exc:
        return ("memory",) if _memory_failure(exc) else ("refused", exc.reason)
    except Exception as exc:  # a parser bug must fail its file, not the whole upload
        logging.getLogger(__name__).exception("parsing %s failed", request["filename"])
        return ("refused", f"the parser failed ({type(exc).__name__}: {exc})")
    return ("parsed", dataclasses.asdict(parsed))


def _limit_cpu(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(used + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def main(argv: list[str]) -> None:
    memory, idle = int(argv[0]), float(argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a library's print() must not corrupt the answers
    logging.basicConfig(level=logging.WARNING, format="parser %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # one warning per glyph on odd fonts
    # Loaders are imported by the first file of their format, as in-process (a PDF library costs
    # about a second that a batch of text files need not pay).
    import ingest.pipeline  # noqa: F401

    while True:
        if not select.select([0], [], [], idle)[0]:
            return  # idle too long: the pool starts a new one when it needs it
        header = read_exact(0, HEADER.size)
        if header is None:
            return
        body = read_exact(0, HEADER.unpack(header)[0])
        if body is None:
            return
        request = pickle.loads(body)
        _limit_cpu(request["seconds"])
        answer = _parse(request)
        del request, body
        try:
            payload = json.dumps(answer, ensure_ascii=False).encode()
        except MemoryError:
            payload = json.dumps(["memory"]).encode()
        del answer
        out.write(HEADER.pack(len(payload)))
        out.write(payload)
        out.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
