"""The proxy database's SQL through the dev orchestrator, on every real server.

The module's ``:name`` placeholders are found by the dialect's tokenizer and sent in the
remote's positional style; the orchestrator hands the SQL to the server untouched, which binds
the values. Nothing a value holds, and nothing inside a literal, identifier or comment, can
change what a statement does.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pywatt.data import Database, open_database
from pywatt.data.errors import DatabaseParameterError, StatementRewriteError

pytestmark = pytest.mark.anyio

PROXIES = ["proxy", "proxy-postgres", "proxy-mysql"]
HOSTILE = [
    " OR 1=1 -- ",
    " OR 1=1; DROP TABLE {t}; -- ",
    "' OR 1=1 -- ",
    "'; DROP TABLE {t}; -- ",
    "\\' OR 1=1 #",
    '" OR ""="',
    "?",
    "$1",
    ":id",
    "*/ OR 1=1 /*",
    "`; DROP TABLE {t}; --",
]


Serve = Callable[[Any], AbstractAsyncContextManager[None]]


def _server(flavor: Any) -> str:
    """The dialect behind a proxy flavor: sqlite, postgres or mysql."""
    return flavor.url.removeprefix("proxy://").split("/", 1)[0]


def _literal(text: str, server: str) -> str:
    """``text`` as a string literal in the server's own quoting rules."""
    if server == "mysql":
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + text.replace("'", "''") + "'"  # backslashes are plain text here


def _identifier(text: str, server: str) -> str:
    if server == "mysql":
        return "`" + text.replace("`", "``") + "`"
    return '"' + text.replace('"', '""') + '"'


@asynccontextmanager
async def _proxy_db(flavor: Any, serve: Serve) -> AsyncIterator[tuple[Database, str, str]]:
    """A proxy database on one server through a dev orchestrator, with a fresh table."""
    server = _server(flavor)
    table = f"pw_{uuid.uuid4().hex[:12]}"
    async with serve(flavor), open_database(flavor.url) as db:
        await db.execute(flavor.ddl(table, "id INTEGER PRIMARY KEY, note {text}"))
        try:
            yield db, table, server
        finally:
            await db.execute(f"DROP TABLE IF EXISTS {table}")


@pytest.mark.parametrize("name", PROXIES)
async def test_a_placeholder_inside_a_literal_is_text(name, flavor_named, serve_flavor):
    """Issue 9 item 1: 'don\\'t ask ?' made the orchestrator bind the literal's '?'."""
    async with _proxy_db(flavor_named(name), serve_flavor) as (db, t, server):
        literal = _literal("don't ask ?", server)
        for i in (1, 2, 3):
            await db.execute(
                f"INSERT INTO {t} (id, note) VALUES (:id, :note)", {"id": i, "note": "don't ask ?"}
            )
        # The statement; PostgreSQL will not compare an integer with text.
        id_text = "CAST(id AS TEXT)" if server == "postgres" else "id"
        sql = f"SELECT id, note FROM {t} WHERE note = {literal} AND {id_text} = :id"
        for value in HOSTILE:
            assert await db.fetch_all(sql, {"id": value.replace("{t}", t)}) == [], value
            assert await db.fetch_value(f"SELECT COUNT(*) FROM {t}") == 3, value
        assert await db.fetch_all(sql, {"id": "2"}) == [{"id": 2, "note": "don't ask ?"}]


@pytest.mark.parametrize("name", PROXIES)
async def test_every_server_binds_parameters_through_the_orchestrator(
    name, flavor_named, serve_flavor
):
    """Issue 9 item 2: PostgreSQL got '$1' and the orchestrator looked for '?' only."""
    async with _proxy_db(flavor_named(name), serve_flavor) as (db, t, _):
        sql = f"INSERT INTO {t} (id, note) VALUES (:id, :note)"
        assert await db.execute(sql, {"id": 1, "note": "one"}) == 1
        async with db.transaction() as tx:
            await tx.execute(sql, {"id": 2, "note": "two"})
        rows = await db.fetch_all(
            f"SELECT id, note FROM {t} WHERE id >= :low ORDER BY id", {"low": 1}
        )
        assert rows == [{"id": 1, "note": "one"}, {"id": 2, "note": "two"}]
        # One name used twice is one value, whatever the remote's positional style.
        same = f"SELECT COUNT(*) FROM {t} WHERE id = :i OR id + 1 = :i + 1"
        assert await db.fetch_value(same, {"i": 2}) == 1


@pytest.mark.parametrize("name", PROXIES)
async def test_statements_the_proxy_cannot_read_are_refused(name, flavor_named, serve_flavor):
    async with _proxy_db(flavor_named(name), serve_flavor) as (db, t, server):
        positional = "$1" if server == "postgres" else "?"
        with pytest.raises(StatementRewriteError, match="positional placeholder"):
            await db.fetch_all(f"SELECT id FROM {t} WHERE id = {positional}")
        with pytest.raises(StatementRewriteError, match="cannot read"):
            await db.fetch_all(f"SELECT id FROM {t} WHERE note = 'unterminated")
        with pytest.raises(DatabaseParameterError, match="no value"):
            await db.fetch_all(f"SELECT id FROM {t} WHERE id = :id")
        assert await db.fetch_value(f"SELECT COUNT(*) FROM {t}") == 0


# --- the property: literals, identifiers and comments never move a value ------------------

_TRICKY = st.sampled_from(
    ["'", "''", "\\", "\\'", "?", ":id", ":v", "$1", "$$", "--", "#", "/*", "*/", "`", '"', "%s"]
)
_PLAIN = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=6)
_TEXT = st.lists(st.one_of(_TRICKY, _PLAIN), max_size=8).map("".join)
_NAME_TEXT = st.lists(
    st.one_of(
        st.sampled_from(["?", ":id", "$1", "'", "`", '"', "\\", "#"]), st.text("abc", max_size=3)
    ),
    min_size=1,
    max_size=5,
).map(lambda parts: "c" + "".join(parts) + "c")


def _comment(text: str, server: str, line: bool) -> str:
    if line:
        # A line comment runs to the newline; MySQL also wants a space after '--'.
        mark = "# " if server == "mysql" and len(text) % 2 else "-- "
        return mark + text.replace("\n", " ") + "\n"
    return "/* " + text.replace("*/", "* /").replace("/*", "/ *") + " */"


@pytest.mark.parametrize("name", PROXIES)
def test_property_literals_and_hostile_values_round_trip(name, flavor_named, serve_flavor):
    flavor = flavor_named(name)

    @settings(
        max_examples=int(__import__("os").environ.get("DH_EX", "15")),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        literal=_TEXT,
        comment=_TEXT,
        line_comment=st.booleans(),
        alias=_NAME_TEXT,
        values=st.lists(st.one_of(st.sampled_from(HOSTILE), _TEXT), min_size=2, max_size=2),
    )
    def check(literal, comment, line_comment, alias, values):
        args = (literal, comment, line_comment, alias, values)
        anyio.run(_round_trip, flavor, serve_flavor, *args)

    check()


async def _round_trip(
    flavor: Any,
    serve: Serve,
    literal: str,
    comment: str,
    line_comment: bool,
    alias: str,
    values: list[str],
) -> None:
    async with _proxy_db(flavor, serve) as (db, t, server):
        v1, v2 = (v.replace("{t}", t) for v in values)
        lit = _literal(literal, server)
        note = _comment(comment, server, line_comment)
        inserted = await db.execute(f"INSERT INTO {t} (id, note) VALUES (1, :v) {note}", {"v": v1})
        assert inserted == 1
        await db.execute(f"INSERT INTO {t} {note} (id, note) VALUES (2, {lit})")
        column = _identifier(alias, server)
        row = await db.fetch_one(
            f"SELECT note AS {column}, {lit} AS lit, :v2 AS v2 {note} FROM {t} WHERE id = :id",
            {"id": 1, "v2": v2},
        )
        assert row == {alias: v1, "lit": literal, "v2": v2}
        assert await db.fetch_value(f"SELECT note FROM {t} WHERE id = 2") == literal
        # Nothing was added, dropped or changed beside what the statements said.
        assert await db.fetch_all(f"SELECT id FROM {t} ORDER BY id") == [{"id": 1}, {"id": 2}]


# --- the rewrite itself, without a server ----------------------------------------------------


@pytest.mark.parametrize(
    ("server", "sql", "wire", "count"),
    [
        (
            "mysql",
            r"SELECT 'don\'t :a ?', `b:a`, :a # :a",
            r"SELECT 'don\'t :a ?', `b:a`, ? # :a",
            1,
        ),
        ("mysql", "SELECT :a -- :a\n, /* :a */ @x := :a", "SELECT ? -- :a\n, /* :a */ @x := ?", 2),
        # One name is one '$n' in PostgreSQL, however often it appears.
        (
            "postgres",
            r"SELECT 'a\', :a, E'\':a', $$ :a $$, x::int, :a",
            r"SELECT 'a\', $1, E'\':a', $$ :a $$, x::int, $1",
            1,
        ),
        ("sqlite", r"SELECT 'a\', :a, [b:a], `c:a`, \:a", r"SELECT 'a\', ?, [b:a], `c:a`, :a", 1),
    ],
)
def test_only_placeholders_outside_literals_are_rewritten(server, sql, wire, count):
    from pywatt.data.database.proxy import to_positional

    assert to_positional(sql, {"a": 7}, server) == (wire, [7] * count)


async def test_the_orchestrator_refuses_another_db_type(serve_flavor, flavor_named):
    """'$1' sent to SQLite (or '?' to PostgreSQL) would bind wrongly: refuse to connect."""
    from pywatt.data import DatabaseConnectionError
    from pywatt.data.database.proxy import ProxyDatabase

    async with serve_flavor(flavor_named("proxy")) as backends:
        assert backends is not None
        db = ProxyDatabase(db_type="postgres")
        with pytest.raises(DatabaseConnectionError, match="serves sqlite, not 'postgres'"):
            await db.connect()
