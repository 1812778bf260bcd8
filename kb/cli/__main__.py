"""``python -m kb.cli``: the same command as ``kb``."""

from kb.cli import app

app()
