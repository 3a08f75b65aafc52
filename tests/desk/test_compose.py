"""docker-compose.yml names only settings and commands that exist."""

from pathlib import Path

import yaml

from api.cli import app
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_environment_and_commands_exist() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"app", "db", "worker", "rasa", "migrate"} <= set(services)
    rasa = services["rasa"]
    if "build" in rasa:
        dockerfile = (ROOT / rasa["build"]["context"] / rasa["build"]["dockerfile"]).read_text(encoding="utf-8")
        assert "FROM rasa/rasa:3.6.21" in dockerfile
    else:
        assert rasa["image"] == "rasa/rasa:3.6.21"
    fields = set(Settings.model_fields)
    for name in ("app", "worker", "migrate"):
        env = services[name]["environment"]
        unknown = [key for key in env if key.lower() not in fields]
        assert unknown == [], f"{name}: not settings {unknown}"
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert services["app"]["command"][1] in commands and services["worker"]["command"][1] in commands
    assert services["migrate"]["command"][:2] == ["alembic", "upgrade"]
    assert services["app"]["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
