from pathlib import Path

from schema.root import export_sdl

SDL = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"


def test_committed_sdl_matches_the_code():
    """Clients are generated from schema/schema.graphql: run `village export-schema` after
    changing the API, and review the diff (deprecate, never rename)."""
    assert SDL.read_text(encoding="utf-8") == export_sdl()


def test_readme_examples_are_valid_documents():
    """The README's GraphQL examples parse and validate against the schema."""
    import re

    from graphql import parse, validate

    from schema.root import default_schema

    readme = (SDL.parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```graphql\n(.*?)```", readme, flags=re.DOTALL)
    assert len(blocks) >= 8
    schema = default_schema()._schema
    for block in blocks:
        assert validate(schema, parse(block)) == [], block
