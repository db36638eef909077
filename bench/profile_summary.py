"""Where the service's time goes, from a py-spy raw (collapsed stacks) profile.

Each sample is charged to one layer: the innermost frame of the stack that belongs to a
known layer decides (a sample inside asyncpg called from the ORM called from a resolver is
asyncpg's). Also: the application functions with the most samples under them (inclusive),
and the hottest frames of all (self).

    .venv/bin/python bench/profile_summary.py bench/results/profile-county-home.txt
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (layer, pattern on the frame's file path); the first matching layer names a frame.
LAYERS = [
    ("asyncpg (driver, wire protocol)", r"/asyncpg/"),
    ("SQLAlchemy: building and compiling SQL", r"/sqlalchemy/sql/"),
    ("SQLAlchemy ORM (session, identity map, flush, loading)", r"/sqlalchemy/orm/"),
    ("SQLAlchemy engine, results, pool, dialect", r"/sqlalchemy/(engine|pool|dialects|connectors|cyextension)/"),
    ("SQLAlchemy asyncio bridge (greenlet)", r"/sqlalchemy/(ext/asyncio|util/_concurrency)|greenlet"),
    ("SQLAlchemy other", r"/sqlalchemy/"),
    ("GraphQL parse and validate (graphql-core)", r"/graphql/(language|validation|utilities)/"),
    ("GraphQL execution (graphql-core)", r"/graphql/"),
    ("strawberry (schema, resolvers' wrapping, extensions, relay)", r"/strawberry/"),
    ("HTTP: uvicorn, httptools, starlette", r"/(uvicorn|starlette|httptools|h11)/"),
    ("JSON encode/decode", r"/json/"),
    ("JWT and crypto", r"/(jwt|cryptography)/"),
    ("logging (structlog, logging)", r"/(structlog|logging)/"),
    ("metrics (prometheus_client)", r"/prometheus_client/"),
    ("pydantic", r"/pydantic"),
    ("application code", re.escape(str(ROOT)) + r"/(app|schema|resolvers|rewards|affairs|identity|grid|models)/"),
    ("asyncio, uvloop, contextvars", r"/asyncio/|uvloop|contextlib|<frozen"),
]
COMPILED = [(name, re.compile(pattern)) for name, pattern in LAYERS]
APP = re.compile(re.escape(str(ROOT)) + r"/(app|schema|resolvers|rewards|affairs|identity|grid)/")
FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def layer(frame: str) -> str | None:
    match = FRAME.match(frame)
    path = match.group("file") if match else frame
    for name, pattern in COMPILED:
        if pattern.search(path):
            return name
    return None


def short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    path = re.sub(r".*/site-packages/", "", path)
    path = path.replace(str(ROOT) + "/", "")
    path = re.sub(r".*/lib/python3\.\d+/", "", path)
    return f"{match.group('function')} ({path})"


def summarise(path: Path) -> dict:
    layers, app_inclusive, leaf = Counter(), Counter(), Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        charged = next((name for f in reversed(frames) if (name := layer(f))), "other")
        layers[charged] += n
        leaf[short(frames[-1])] += n
        seen = set()
        for f in frames:
            if APP.search(f):
                name = short(re.sub(r":\d+\)$", ")", f))
                if name not in seen:
                    seen.add(name)
                    app_inclusive[name] += n
    share = lambda n: round(100 * n / total, 1) if total else 0.0  # noqa: E731
    return {
        "samples": total,
        "categories": [(name, share(n)) for name, n in layers.most_common()],
        "application_inclusive": [(name, share(n)) for name, n in app_inclusive.most_common(15)],
        "hottest_frames": [(name, share(n)) for name, n in leaf.most_common(15)],
    }


def main() -> None:
    for arg in sys.argv[1:]:
        summary = summarise(Path(arg))
        print(f"{arg}: {summary['samples']} samples")
        for title in ("categories", "application_inclusive", "hottest_frames"):
            print(f"  {title}:")
            for name, pct in summary[title]:
                print(f"    {pct:5.1f}%  {name}")


if __name__ == "__main__":
    main()
