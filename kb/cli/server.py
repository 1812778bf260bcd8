"""``kb serve``: the web app, started by its import string so that ``kb`` never imports ``web``."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from kb.cli._common import DataDir, open_kb

APP_FACTORY = "web.app:create_app"  # reads its Settings from the KB_* environment


def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Serve the API (and docs at /docs)."""
    import uvicorn

    if data_dir is not None:
        os.environ["KB_DATA_DIR"] = str(data_dir)  # the factory builds its settings from these
    # Before uvicorn: SQLite applies pending migrations here, PostgreSQL refuses naming
    # `kb db upgrade` (kb/db.py says why), and any database the server cannot use is refused.
    open_kb(data_dir).close()
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, log_level="info")
