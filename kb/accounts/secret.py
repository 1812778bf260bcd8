"""The server's secret: ``KB_SECRET_KEY``, or one generated into the data directory (0600)."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path

from kb.errors import KBError
from kb.settings import Settings

log = logging.getLogger(__name__)

MIN_SECRET_CHARS = 32
SECRET_FILE = "secret_key"

# Words that mark a value copied from an example rather than generated.
_PLACEHOLDERS = (
    "changethis", "changeme", "change-me", "change_me", "placeholder", "example",
    "your-secret", "your_secret", "yoursecret", "secret-key", "secret_key", "xxxxxx",
)  # fmt: skip


class InsecureSecret(KBError):
    """The configured secret cannot protect sessions in production."""

    status_code = 500


def load_secret_key(settings: Settings) -> bytes:
    """The secret that signs CSRF and embed tokens; call at start-up to refuse a weak one.

    Not cached: reading a 65-byte file costs less than the query beside it, and nothing can go
    stale (a test's fresh data dir has its own secret without any patching)."""
    explicit = settings.secret_key.get_secret_value() if settings.secret_key else None
    return _load(explicit, settings.env == "production", settings.data_dir.resolve())


def _load(explicit: str | None, production: bool, data_dir: Path) -> bytes:
    if explicit is not None:
        problem = weakness(explicit)
        if problem and production:
            raise InsecureSecret(f"KB_SECRET_KEY {problem}", field="secret_key")
        if problem:
            log.warning("KB_SECRET_KEY %s; production would refuse it", problem)
        return explicit.encode("utf-8")
    if production:
        raise InsecureSecret(
            "KB_SECRET_KEY must be set when KB_ENV=production: every worker has to share one "
            f"explicit secret of {MIN_SECRET_CHARS}+ characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))')",
            field="secret_key",
        )
    return _file_secret(data_dir / SECRET_FILE)


def weakness(secret: str) -> str | None:
    """Why ``secret`` is too weak to sign anything, or None."""
    if len(secret) < MIN_SECRET_CHARS:
        return f"is {len(secret)} characters long; it needs at least {MIN_SECRET_CHARS}"
    folded = secret.casefold()
    if any(word in folded for word in _PLACEHOLDERS) or len(set(secret)) < 10:
        return "looks like a placeholder; generate a random one"
    return None


def _file_secret(path: Path) -> bytes:
    if path.exists():
        return _read_secret(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mode 0600
    try:
        value = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(value + "\n")
        # A hard link appears whole or not at all: of two processes starting at once, one
        # wins and the other reads the winner's secret, never a half-written file.
        os.link(temporary, path)
    except FileExistsError:
        return _read_secret(path)
    finally:
        os.unlink(temporary)
    log.info("generated a secret key into %s", path)
    return value.encode("ascii")


def _read_secret(path: Path) -> bytes:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise InsecureSecret(
            f"{path} is readable by others (mode {mode:o}); chmod 600 it", field="secret_key"
        )
    value = path.read_text(encoding="ascii").strip()
    if len(value) < MIN_SECRET_CHARS:
        raise InsecureSecret(
            f"{path} holds no usable secret; delete it to generate one", field="secret_key"
        )
    return value.encode("ascii")
