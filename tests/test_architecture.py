"""The layering of the guide, checked over the source: schema/resolvers → domain → models."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = {"affairs", "grid", "household_links", "identity", "jobs", "party_scoring", "resident_requests", "rewards"}
WEB = {"strawberry", "starlette", "uvicorn", "graphql", "schema", "resolvers"}

# package → top-level modules it must never import
FORBIDDEN = {
    "models": WEB | DOMAIN | {"app"},
    "grid": WEB,
    "identity": WEB,
    "rewards": WEB | {"affairs", "household_links", "jobs", "party_scoring", "resident_requests"},
    "jobs": WEB,
    "affairs": WEB,
    "resident_requests": WEB,
    "household_links": WEB | {"party_scoring"},  # scoring reads links, never the reverse
    "party_scoring": WEB,
    "schema": {"app.asgi", "app.cli"},
    "resolvers": {"app.asgi", "app.cli"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def _violates(name: str, banned: set[str]) -> bool:
    return any(name == b or name.startswith(b + ".") for b in banned)


def test_packages_import_only_downwards():
    violations = []
    for package, banned in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).exists() else []:
            for name in imports_of(path):
                if _violates(name, banned):
                    violations.append(f"{path.relative_to(ROOT)} imports {name}")
    assert violations == []


def test_the_checker_sees_a_violation():
    """Guard against a rule that cannot fail: a forbidden import is caught."""
    assert _violates("strawberry.types", WEB)
    assert _violates("schema", WEB) and not _violates("schemata", WEB)
    assert "strawberry" in imports_of(ROOT / "schema" / "root.py")
