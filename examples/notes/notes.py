"""The notes module: its table is declared once and created at startup by ``sync_schema``.

The database is the orchestrator's own (``proxy://sqlite/notes``) unless the ``NOTES_DB``
secret names another; the DDL reaches it as ordinary ``execute`` operations. Starting the
module again changes nothing: the schema already matches.

Run it in the dev orchestrator: ``pywatt run examples/notes/notes.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from pywatt.core import AppConfig, AppState, Secret, pywatt_module
from pywatt.data import Database, open_database
from pywatt.models import MigrationResult, create_simple_model, sync_schema

SCHEMA = [
    create_simple_model("notes")
    .add_varchar_column("title", 200, nullable=False)
    .add_text_column("body")
    .add_boolean_column("pinned", nullable=False, default=False)
    .add_index("ix_notes_pinned", "pinned", "title")
    .build()
]


@dataclass
class Notes:
    db: Database
    schema: MigrationResult


async def build_state(config: AppConfig, secrets: dict[str, Secret[str]]) -> Notes:
    db = open_database(secrets["NOTES_DB"].expose())
    await db.connect()
    return Notes(db=db, schema=await sync_schema(db, SCHEMA))


@pywatt_module(secrets={"NOTES_DB": "proxy://sqlite/notes"}, state=build_state)
def create_app(state: AppState[Notes]) -> FastAPI:
    notes = state.user
    app = FastAPI(title="notes")

    @app.post("/notes")
    async def add(note: dict[str, Any]) -> dict[str, int]:
        await notes.db.execute(
            "INSERT INTO notes (title, body) VALUES (:title, :body)",
            {"title": str(note["title"]), "body": note.get("body")},
        )
        return {"count": int(await notes.db.fetch_value("SELECT COUNT(*) FROM notes"))}

    @app.get("/notes")
    async def list_notes() -> list[dict[str, Any]]:
        rows = await notes.db.fetch_all("SELECT title, body, pinned FROM notes ORDER BY id")
        return [{**row, "pinned": bool(row["pinned"])} for row in rows]

    @app.get("/schema")
    async def schema() -> dict[str, Any]:
        plan = notes.schema.plan
        return {"revision": plan.revision, "applied": notes.schema.applied,
                "steps": notes.schema.applied_steps}  # fmt: skip

    return app


if __name__ == "__main__":
    create_app.run()
