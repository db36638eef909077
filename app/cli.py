"""The `village` command: serve the API, migrate, seed the demo, mint tokens, export the schema."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from app.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

cli = typer.Typer(
    help="Smart Village: the GraphQL service for village self-governance.",
    no_args_is_help=True,
    add_completion=False,
)
db_cli = typer.Typer(help="Database maintenance.", no_args_is_help=True)
seed_cli = typer.Typer(help="Load data.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
rewards_cli = typer.Typer(help="The points engine: invariants and expiry.", no_args_is_help=True)
cli.add_typer(seed_cli, name="seed")
cli.add_typer(rewards_cli, name="rewards")
requests_cli = typer.Typer(help="Residents' requests (民情诉求).", no_args_is_help=True)
cli.add_typer(requests_cli, name="requests")
affairs_cli = typer.Typer(help="Village affairs disclosure and group accounts.", no_args_is_help=True)
cli.add_typer(affairs_cli, name="affairs")
auth_cli = typer.Typer(help="Logins: codes, failures and sessions.", no_args_is_help=True)
cli.add_typer(auth_cli, name="auth")

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"


@cli.callback()
def _configure() -> None:
    from app.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)


def _database_url() -> str:
    """Resolve the database once and export it, so uvicorn's worker processes share it."""
    from app.embedded_postgres import DatabaseUnavailable, resolve_database_url

    settings = get_settings()
    try:
        url = resolve_database_url(settings.database_url, settings.data_dir)
    except DatabaseUnavailable as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    return url


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on the configured database, committed if it returns.
    A domain refusal (a bad phone, a taken number) prints its message and exits 1."""
    from app.database import create_engine, create_sessionmaker
    from app.errors import DomainError

    url = _database_url()

    async def run() -> T:
        engine = create_engine(url, get_settings())
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except DomainError as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    demo: bool = typer.Option(False, "--demo", help="Load the demo town and villages if missing."),
    migrate: bool = typer.Option(True, help="Apply database migrations before serving."),
) -> None:
    """Serve the API at http://HOST:PORT/graphql (GraphiQL in a browser, outside production)."""
    import uvicorn

    url = _database_url()
    if migrate:
        from app.migrate import upgrade

        upgrade(url)
    if demo:
        from app.demo import describe_logins, seed_demo

        asyncio.run(seed_demo(url))
        typer.echo(describe_logins())
    if workers > 1:  # workers share their metrics through files in a fresh folder
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="village-metrics-")
    typer.echo(f"Smart Village API: http://{host}:{port}/graphql")
    uvicorn.run(
        "app.asgi:app_factory", factory=True, host=host, port=port, workers=workers,
        log_config=None, proxy_headers=True,
    )


@db_cli.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from app.migrate import upgrade

    upgrade(_database_url(), revision)
    typer.echo(f"database at {revision}")


@seed_cli.command("demo")
def seed_demo_command() -> None:
    """Load the demo town (3 villages, ~300 households, ~900 residents) if it is missing."""
    from app.demo import describe_logins, seed_demo
    from app.migrate import upgrade

    url = _database_url()
    upgrade(url)
    created = asyncio.run(seed_demo(url))
    typer.echo("demo data loaded" if created else "demo data already present")
    typer.echo(describe_logins())


@rewards_cli.command("check")
def rewards_check() -> None:
    """Recompute every ledger and stock invariant; exit 1 naming each violation."""
    found = asyncio.run(_rewards_check(_database_url()))
    if not found:
        typer.echo("rewards: all invariants hold")
        return
    for name, rows in found.items():
        typer.secho(f"VIOLATED: {name} ({len(rows)} rows)", fg=typer.colors.RED, err=True)
        for row in rows[:20]:
            typer.echo(f"  {row}", err=True)
    raise typer.Exit(1)


async def _rewards_check(url: str) -> dict:
    from app.database import create_engine, create_sessionmaker
    from rewards.check import violations

    engine = create_engine(url, get_settings())
    try:
        async with create_sessionmaker(engine)() as session:
            return await violations(session)
    finally:
        await engine.dispose()


@rewards_cli.command("sweep")
def rewards_sweep() -> None:
    """Expire due points and unclaimed redemptions (idempotent; safe while serving)."""
    report = asyncio.run(_rewards_sweep(_database_url()))
    typer.echo(
        f"expired {report.points_expired} points in {report.lots_expired} lots; "
        f"expired {report.redemptions_expired} unclaimed redemptions"
        + (f"; {report.left_busy} busy, left for the next run" if report.left_busy else "")
    )


async def _rewards_sweep(url: str):
    from app.database import create_engine, create_sessionmaker
    from rewards.sweep import sweep

    engine = create_engine(url, get_settings())
    try:
        return await sweep(create_sessionmaker(engine), datetime.now(UTC))
    finally:
        await engine.dispose()


@requests_cli.command("sweep")
def requests_sweep() -> None:
    """Close resolved requests left unrated for REQUEST_AUTO_CLOSE_DAYS (idempotent)."""
    from resident_requests.workflow import close_unrated

    days = get_settings().request_auto_close_days
    closed = _in_transaction(lambda session: close_unrated(session, datetime.now(UTC), days))
    typer.echo(f"closed {closed} unrated requests")


@auth_cli.command("sweep")
def auth_sweep() -> None:
    """Delete login codes, failed logins and refresh tokens nobody can use any more (idempotent)."""
    from identity.sweep import forget_stale

    done = _in_transaction(lambda session: forget_stale(session, datetime.now(UTC), get_settings()))
    typer.echo(f"deleted {done.login_codes} login codes, {done.failures} failed logins, "
               f"{done.refresh_tokens} expired refresh tokens")


@affairs_cli.command("verify")
def affairs_verify() -> None:
    """Recompute every published statement's digest chain; exit 1 naming each mismatch."""
    broken = asyncio.run(_affairs_verify(_database_url()))
    if not broken:
        typer.echo("affairs: every statement matches its digest chain")
        return
    for b in broken:
        typer.secho(
            f"MISMATCH: statement {b.statement_id} (unit {b.unit_id}, {b.period} v{b.version}): {b.problem}",
            fg=typer.colors.RED, err=True,
        )
    raise typer.Exit(1)


async def _affairs_verify(url: str):
    from affairs.accounts import verify
    from app.database import create_engine, create_sessionmaker

    engine = create_engine(url, get_settings())
    try:
        async with create_sessionmaker(engine)() as session:
            return await verify(session)
    finally:
        await engine.dispose()


@cli.command()
def token(
    phone: str = typer.Option(None, help="The user's phone."),
    user_id: int = typer.Option(None, "--user-id", help="The user's id."),
) -> None:
    """Mint an access token for a user (for operators and scripts)."""
    if (phone is None) == (user_id is None):
        raise typer.BadParameter("give exactly one of --phone or --user-id")
    from identity.phones import normalize_phone

    normalized = None
    if phone is not None:
        normalized = normalize_phone(phone)
        if normalized is None:
            raise typer.BadParameter("not a mainland mobile number", param_hint="--phone")
    found = asyncio.run(_find_user(_database_url(), normalized, user_id))
    if found is None:
        typer.secho("no such active user", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    from identity.tokens import issue_access_token

    settings = get_settings()
    access, expires_at = issue_access_token(found, settings, datetime.now(UTC))
    typer.echo(access)
    typer.secho(f"valid until {expires_at.isoformat()}", err=True)


async def _find_user(url: str, phone: str | None, user_id: int | None) -> int | None:
    from sqlalchemy import select

    from app.database import create_engine
    from models import User

    engine = create_engine(url, get_settings())
    try:
        async with engine.connect() as conn:
            condition = User.phone == phone if phone is not None else User.id == user_id
            return await conn.scalar(select(User.id).where(condition, User.is_active))
    finally:
        await engine.dispose()


@cli.command("create-town")
def create_town(
    name: str = typer.Argument(..., help="The town's name (镇/乡/街道)."),
    admin_phone: str = typer.Option(..., "--admin-phone", help="The first town admin's mobile number."),
    admin_name: str = typer.Option(..., "--admin-name", help="Their name as shown to others."),
    password: str = typer.Option(..., prompt="Admin password", hide_input=True, confirmation_prompt=True,
                                 help="Their password (asked for when not given)."),
) -> None:
    """Create a town and its first admin, who logs in with the password and sets up the
    villages through the API (createVillage, appoint)."""
    town_id = _in_transaction(lambda session: _create_town(session, name, admin_phone, admin_name, password))
    typer.echo(f"town {name} (id {town_id}) created; its admin logs in with {admin_phone} and the password")


async def _create_town(session: AsyncSession, name: str, phone: str, display_name: str, password: str) -> int:
    from sqlalchemy import select

    from grid import appointments, units
    from grid.errors import GridError, GridErrorCode
    from identity.login_codes import require_phone
    from identity.passwords import hash_new_password
    from models import User

    normalized = require_phone(phone, "adminPhone")
    password_hash = hash_new_password(password, "password")
    display_name = display_name.strip()
    if not display_name or len(display_name) > 50:
        raise GridError(GridErrorCode.INVALID_INPUT, "姓名不能为空且不超过50字")
    if await session.scalar(select(User.id).where(User.phone == normalized)):
        raise GridError(GridErrorCode.DUPLICATE, "该手机号已有账号")
    town = await units.create_town(session, name)
    admin = User(phone=normalized, display_name=display_name, password_hash=password_hash)
    session.add(admin)
    await session.flush()
    await appointments.appoint(session, town, admin, "town_admin", appointed_by=None,
                               now=datetime.now(UTC), note="建镇时由运维创建")
    return town.id


@cli.command("reset-password")
def reset_password(
    phone: str = typer.Option(..., "--phone", help="The account's mobile number."),
    password: str = typer.Option(..., prompt="New password", hide_input=True, confirmation_prompt=True,
                                 help="The new password (asked for when not given)."),
) -> None:
    """Set a new password for someone who forgot theirs, and end all their sessions."""
    from identity.login import reset_password as reset

    user = _in_transaction(lambda session: reset(session, phone, password, datetime.now(UTC)))
    typer.echo(f"password of user {user.id} reset; their sessions are ended")


@cli.command("move-login")
def move_login(
    phone: str = typer.Option(..., "--phone", help="The number the account logs in with now."),
    to: str = typer.Option(..., "--to", help="The account's new number."),
) -> None:
    """Move an account (and its resident record) to a new number, ending its sessions: for a
    number given up when no admin above the account can change it."""
    from grid.residents import move_login as move

    user = _in_transaction(lambda session: move(session, phone, to, datetime.now(UTC)))
    typer.echo(f"user {user.id} now logs in with {to}; their sessions are ended")


@cli.command("export-schema")
def export_schema(
    output: Path = typer.Option(SCHEMA_FILE, help="Where to write the SDL ('-' for stdout)."),
) -> None:
    """Write the GraphQL schema (SDL); the committed copy is schema/schema.graphql."""
    from schema.root import export_sdl

    sdl = export_sdl()
    if str(output) == "-":
        typer.echo(sdl, nl=False)
    else:
        output.write_text(sdl, encoding="utf-8")
        typer.echo(f"wrote {output}")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
