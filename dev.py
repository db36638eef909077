#!/usr/bin/env python3
"""One entry point for people and CI: set up what is needed, then run a command.

    python3 dev.py serve --demo      # run the API with a demo village
    python3 dev.py test              # run the whole test suite
    python3 dev.py <village args>    # any `village` command, e.g. `db upgrade`, `token`

Needs only Python 3.11+ with pip. It makes `.venv`, installs uv into `.venv-tools` (unless
uv is already on PATH), installs the locked dependencies with `uv sync --frozen` and runs
the command inside the environment. A second run starts in about a second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".venv-tools"
BIN = "Scripts" if os.name == "nt" else "bin"
EXE = ".exe" if os.name == "nt" else ""


def uv_command() -> str:
    found = shutil.which("uv")
    if found:
        return found
    uv = TOOLS / BIN / f"uv{EXE}"
    if not uv.exists():
        print("dev.py: installing uv into .venv-tools …", flush=True)
        venv.create(TOOLS, with_pip=True, clear=True)
        subprocess.run(
            [str(TOOLS / BIN / f"python{EXE}"), "-m", "pip", "install", "--quiet", "uv>=0.5"],
            check=True,
        )
    return str(uv)


def sync(uv: str) -> None:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_PROJECT_ENVIRONMENT": str(ROOT / ".venv")}
    subprocess.run(
        [uv, "sync", "--frozen", "--quiet", "--python", sys.executable],
        cwd=ROOT, env=env, check=True,
    )


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 (dev.py runs under whatever python3 is)
        sys.exit("dev.py: Python 3.11 or newer is needed")
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    sync(uv_command())
    bin_dir = ROOT / ".venv" / BIN
    if argv[0] == "test":
        command = [str(bin_dir / f"python{EXE}"), "-m", "pytest", *argv[1:]]
    else:
        command = [str(bin_dir / f"village{EXE}"), *argv]
    return subprocess.call(command, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
