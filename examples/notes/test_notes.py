"""The notes module as an orchestrator runs it: its table is created at startup, once."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from pywatt.cli.orchestrator import ModuleHandle

NOTES = Path(__file__).with_name("notes.py")

pytestmark = pytest.mark.anyio

Factory = Callable[..., Awaitable[ModuleHandle]]
JSON = {"content-type": "application/json"}


def note(**fields: object) -> bytes:
    return json.dumps(fields).encode()


async def test_tables_are_created_at_startup_and_only_once(
    pywatt_module_factory: Factory, tmp_path: Path
) -> None:
    secrets = {"NOTES_DB": f"sqlite:///{tmp_path / 'notes.db'}"}
    first = await pywatt_module_factory(NOTES, secrets=secrets)
    schema = (await first.http("GET", "/schema")).json()
    assert schema["applied"] is True
    assert schema["steps"] == ["create table notes", "create index ix_notes_pinned on notes"]
    added = await first.http("POST", "/notes", JSON, note(title="hi", body="there"))
    assert added.json() == {"count": 1}
    assert await first.stop(timeout=10) == 0

    second = await pywatt_module_factory(NOTES, secrets=secrets)
    again = (await second.http("GET", "/schema")).json()
    assert (again["applied"], again["revision"]) == (False, schema["revision"])
    listed = await second.http("GET", "/notes")
    assert listed.json() == [{"title": "hi", "body": "there", "pinned": False}]


async def test_through_the_orchestrators_database(pywatt_module_factory: Factory) -> None:
    notes = await pywatt_module_factory(NOTES)
    schema = (await notes.http("GET", "/schema")).json()
    assert schema["steps"] == ["create table notes", "create index ix_notes_pinned on notes"]
    added = await notes.http("POST", "/notes", JSON, note(title="proxied"))
    assert added.json() == {"count": 1}
    assert (await notes.http("GET", "/notes")).json() == [
        {"title": "proxied", "body": None, "pinned": False}
    ]
