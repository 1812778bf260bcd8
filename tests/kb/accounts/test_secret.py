"""The secret key: generated once with mode 0600, explicit in production, never a placeholder."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.accounts.secret import InsecureSecret, load_secret_key
from kb.errors import KBError
from kb.settings import Settings

GOOD = "Vq3-Jx9_pL2mZr8tKw4nYb7cHd1sFg6e"  # 32 characters, random-looking


def test_generated_once_into_the_data_dir_with_mode_0600(tmp_path: Path) -> None:
    secret = load_secret_key(Settings(data_dir=tmp_path))
    path = tmp_path / "secret_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(secret) >= 32 and path.read_text().strip().encode() == secret
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary left behind
    # Read back, not drawn again: every later start (or worker) on this data dir agrees.
    assert load_secret_key(Settings(data_dir=tmp_path)) == secret
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_secret_key(Settings(data_dir=tmp_path / "elsewhere")) != secret


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.write_text(GOOD + "\n")
    path.chmod(0o644)
    with pytest.raises(InsecureSecret, match=r"readable by others \(mode 644\); chmod 600"):
        load_secret_key(Settings(data_dir=tmp_path))


def test_an_explicit_secret_wins_and_writes_no_file(tmp_path: Path) -> None:
    assert load_secret_key(Settings(data_dir=tmp_path, secret_key=GOOD)) == GOOD.encode()
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "KB_SECRET_KEY must be set when KB_ENV=production"),
        ("short-but-random-9x", "KB_SECRET_KEY is 19 characters long; it needs at least 32"),
        ("changethis-changethis-changethis-1", "KB_SECRET_KEY looks like a placeholder"),
        ("your-secret-key-goes-here-please!", "KB_SECRET_KEY looks like a placeholder"),
        ("a" * 40, "KB_SECRET_KEY looks like a placeholder"),
    ],
)
def test_production_refuses_to_start_without_a_real_secret(
    tmp_path: Path, secret: str | None, message: str
) -> None:
    settings = Settings(data_dir=tmp_path, env="production", secret_key=secret)
    with pytest.raises(KBError) as caught:
        load_secret_key(settings)
    assert caught.value.message.startswith(message) and caught.value.field == "secret_key"
    assert not (tmp_path / "secret_key").exists()  # no generated secret to fall back on


def test_production_starts_with_a_real_secret(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, env="production", secret_key=GOOD)
    assert load_secret_key(settings) == GOOD.encode()
    assert settings.secure_cookies and not Settings(data_dir=tmp_path).secure_cookies
    assert not Settings(env="production", cookie_secure=False).secure_cookies
