"""``pywatt models sql|diff|apply``: the schema tooling on the command line."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import anyio
import click

if TYPE_CHECKING:
    from pywatt.data import Database
    from pywatt.models.descriptors import ModelDescriptor

__all__ = ["models_command"]

T = TypeVar("T")

_FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_URL = click.option("--url", required=True, envvar="PYWATT_MODELS_URL", help="Database URL.")
_VERSION = click.option(
    "--version-table", default="pywatt_schema_versions", show_default=True,
    help="Table recording applied revisions.",
)  # fmt: skip


def _load(file: Path) -> list[ModelDescriptor]:
    from pydantic import ValidationError

    from pywatt.models.descriptors import load_models
    from pywatt.models.errors import ModelsError

    # Validation waits for the dialect: a third-party one may add column types.
    try:
        return load_models(file)
    except (ValidationError, ValueError, ModelsError) as exc:
        raise click.ClickException(f"{file}: {exc}") from None


def _on_database(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    from pywatt.core.errors import PyWattError
    from pywatt.data import open_database

    async def run() -> T:
        async with open_database(url) as db:
            return await work(db)

    try:
        return anyio.run(run)
    except PyWattError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("models")
def models_command() -> None:
    """Generate DDL for schema files, diff them against a database, and apply them."""


@models_command.command("sql")
@_FILE
@click.option("--dialect", default="sqlite", show_default=True, help="sqlite, postgres, mysql...")
@click.option("--drop", is_flag=True, help="Print DROP statements instead.")
def sql_command(file: Path, dialect: str, drop: bool) -> None:
    """Print the CREATE (or DROP) script of FILE's models for a dialect."""
    from pywatt.core.errors import PyWattError
    from pywatt.models.ddl import drop_sql, generate_complete_sql

    models = _load(file)
    try:
        if drop:
            click.echo("".join(f"{s};\n" for s in drop_sql(models, dialect)), nl=False)
        else:
            click.echo(generate_complete_sql(models, dialect), nl=False)
    except (PyWattError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None


@models_command.command("diff")
@_FILE
@_URL
@_VERSION
def diff_command(file: Path, url: str, version_table: str) -> None:
    """Print the steps and SQL that would bring the database at URL to FILE's models."""
    from pywatt.models.sync import diff_schema

    models = _load(file)
    plan = _on_database(url, lambda db: diff_schema(db, models, version_table=version_table))
    click.echo(plan.render(), nl=False)


@models_command.command("apply")
@_FILE
@_URL
@_VERSION
@click.option("--allow-destructive", is_flag=True, help="Also drop tables/columns, narrow types.")
def apply_command(file: Path, url: str, version_table: str, allow_destructive: bool) -> None:
    """Bring the database at URL to FILE's models; running it again changes nothing."""
    from pywatt.models.sync import sync_schema

    models = _load(file)
    result = _on_database(
        url,
        lambda db: sync_schema(
            db, models, allow_destructive=allow_destructive, version_table=version_table
        ),
    )
    if not result.applied:
        click.echo("nothing to apply: the database matches the models")
        return
    click.echo(f"applied revision {result.plan.revision} ({len(result.applied_steps)} step(s)):")
    for step in result.applied_steps:
        click.echo(f"  {step}")
    sys.stdout.flush()
