import stat
from pathlib import Path

from core.secrets import SECRET_FILE, session_secret
from core.settings import Settings


def _settings(var_dir: Path, **extra: object) -> Settings:
    return Settings(var_dir=var_dir, _env_file=None, **extra)  # type: ignore[call-arg]


def test_without_secret_key_a_private_random_key_is_generated_and_reused(tmp_path: Path) -> None:
    first = session_secret(_settings(tmp_path / "a"))
    path = tmp_path / "a" / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first == path.read_text(encoding="ascii") and len(first) >= 32
    assert first != "dev-only-change-me"
    assert session_secret(_settings(tmp_path / "a")) == first
    assert session_secret(_settings(tmp_path / "b")) != first
    assert [p.name for p in (tmp_path / "a").iterdir()] == [SECRET_FILE]


def test_an_existing_key_file_wins(tmp_path: Path) -> None:
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / SECRET_FILE).write_text("kept-from-an-earlier-run-or-another-worker\n", encoding="ascii")
    assert session_secret(_settings(tmp_path / "v")) == "kept-from-an-earlier-run-or-another-worker"


def test_secret_key_from_the_environment_is_used(tmp_path: Path) -> None:
    assert session_secret(_settings(tmp_path / "v", secret_key="from-env-0123456789")) == "from-env-0123456789"
    assert not (tmp_path / "v" / SECRET_FILE).exists()
