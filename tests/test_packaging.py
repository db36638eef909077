"""compose.yaml, the Dockerfile and the README agree with the settings the code reads."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SETTING_NAMES = {name.upper() for name in Settings.model_fields}


def test_compose_uses_only_real_settings_and_checks_health():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    app = compose["services"]["app"]
    assert set(app["environment"]) <= SETTING_NAMES, set(app["environment"]) - SETTING_NAMES
    assert app["environment"]["DATABASE_URL"].split("@")[1].startswith("db:5432/")
    assert compose["services"]["db"]["image"].startswith("postgres:16")
    assert "healthcheck" in app and "healthcheck" in compose["services"]["db"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    # production refuses the development secrets, so compose must pass real ones
    assert {"JWT_SECRET", "DATA_ENCRYPTION_KEY"} <= set(app["environment"])
    # and refuses to put login codes in the log
    assert app["environment"]["SMS_SENDER"] == "${SMS_SENDER:-off}"


def test_dockerfile_runs_the_cli_and_installs_from_the_lock():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "uv sync --frozen" in dockerfile
    assert re.search(r'CMD \["village", "serve"', dockerfile)


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert documented == SETTING_NAMES


def test_the_code_passes_the_linter():
    # the rules are in pyproject.toml; `.venv/bin/ruff check --fix .` sorts imports
    checked = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
