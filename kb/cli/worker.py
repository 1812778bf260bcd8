"""``kb worker``: take jobs from the queue; ``kb workers``: every worker's health and metrics."""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from kb.cli._common import DataDir, JsonFlag, add_row, open_kb, out, table
from kb.workers.handlers import HANDLERS
from kb.workers.worker import Worker, read_statuses


def worker_cmd(
    kinds: Annotated[
        str, typer.Option("--kinds", help=f"Comma-separated job kinds: {', '.join(HANDLERS)}.")
    ] = ",".join(HANDLERS),
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            min=0,
            help="On SIGTERM, seconds the running job may take to finish before it is given "
            "back to the queue (a second SIGTERM gives it back at once).",
        ),
    ] = 60.0,
    poll: Annotated[
        float, typer.Option("--poll", min=0.1, help="Seconds between looks at an idle queue.")
    ] = 2.0,
    status_file: Annotated[
        Path | None,
        typer.Option("--status-file", help="Default: <data dir>/workers/<host>-<pid>-<id>.json."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run jobs of the given kinds until SIGTERM or SIGINT (set KB_WORKERS=external on kb serve)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    kb = open_kb(data_dir)
    try:
        worker = Worker(
            kb,
            [k.strip() for k in kinds.split(",") if k.strip()],
            status_file=status_file,
            poll_seconds=poll,
            grace_seconds=grace,
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: worker.request_stop())
        out.print(f"worker {worker.owner} taking {', '.join(worker.kinds)}; status in "
                  f"{worker.status_file}", highlight=False)  # fmt: skip
        status = worker.run()
    finally:
        kb.close()
    out.print(f"stopped: {status.jobs_done} done, {status.jobs_failed} failed, "
              f"{status.jobs_released} released", highlight=False)  # fmt: skip


def workers_cmd(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Every worker's last status: state, jobs done and failed, queue depth, embedding rate."""
    kb = open_kb(data_dir)
    try:
        statuses = read_statuses(kb)
    finally:
        kb.close()
    if as_json:
        out.print_json(json.dumps(statuses))
        return
    grid = table("worker", "state", "updated", "job", "done", "failed", "queue", "chunks/s")
    for s in statuses:
        add_row(grid, *(_cell(s.get(k)) for k in ("name", "state", "updated_at", "current_job",
                "jobs_done", "jobs_failed", "queue_depth", "embedding_rate")))  # fmt: skip
    out.print(grid)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
