"""Every problem of a model set, found before any SQL is written or run."""

from __future__ import annotations

import datetime
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence

from pywatt.models.descriptors import ColumnDescriptor, ModelDescriptor
from pywatt.models.dialects import ModelDialect

__all__ = ["validate_models"]

_INTEGERS = {"integer", "biginteger", "smallinteger"}
_NUMBERS = {"float", "double", "decimal"}
_TEXTS = {"string", "text"}
_TEMPORAL = {"date": datetime.date, "time": datetime.time, "datetime": datetime.datetime}


def _default_problem(table: str, col: ColumnDescriptor) -> str | None:
    value = col.default
    if value is None:
        return None
    where = f"column '{table}.{col.name}'"
    kind = col.type
    if kind in _INTEGERS:
        ok, needs = isinstance(value, int) and not isinstance(value, bool), "an int"
    elif kind in _NUMBERS:
        ok, needs = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif kind == "boolean":
        ok, needs = isinstance(value, bool), "a bool"
    elif kind in _TEXTS:
        ok, needs = isinstance(value, str), "a str"
        if ok and col.length is not None and len(str(value)) > col.length:
            return f"default for {where} is longer than its length {col.length}"
    elif kind == "enum":
        if value not in (col.enum_values or []):
            return f"default {value!r} for {where} is not one of its enum values"
        return None
    elif kind in _TEMPORAL:
        ok, needs = _parses(_TEMPORAL[kind], value), f"an ISO {kind} string"
    elif kind == "uuid":
        ok, needs = _is_uuid(value), "a UUID string"
    else:
        return f"{where} of type {kind} cannot have a literal default; use default_sql"
    if ok:
        return None
    return f"default {value!r} for {where} does not match its type {kind} (needs {needs})"


def _parses(kind: type[datetime.date | datetime.time], value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        kind.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _column_problems(model: ModelDescriptor, types: set[str]) -> list[str]:
    problems: list[str] = []
    if not model.columns:
        problems.append(f"table '{model.name}' has no columns")
    for name, count in Counter(c.name for c in model.columns).items():
        if count > 1:
            problems.append(f"duplicate column '{model.name}.{name}'")
    for col in model.columns:
        where = f"'{model.name}.{col.name}'"
        if col.type not in types:
            known = ", ".join(sorted(types))
            problems.append(f"unknown column type {col.type!r} for {where}; known: {known}")
            continue
        if col.type == "string" and col.length is None:
            problems.append(f"string column {where} needs a length")
        if col.type == "enum" and not col.enum_values:
            problems.append(f"enum column {where} has no values")
        if col.default is not None and col.default_sql is not None:
            problems.append(f"column {where} has both default and default_sql")
        problem = _default_problem(model.name, col)
        if problem:
            problems.append(problem)
    return problems


def _missing(model: ModelDescriptor, columns: Iterable[str], what: str) -> list[str]:
    return [
        f"{what} on '{model.name}' names missing column '{name}'"
        for name in columns
        if model.column(name) is None
    ]


def _key_problems(model: ModelDescriptor, tables: dict[str, ModelDescriptor]) -> list[str]:
    problems: list[str] = []
    for index in model.indexes:
        if not index.columns:
            problems.append(f"index '{index.name}' on '{model.name}' has no columns")
        problems += _missing(model, index.columns, f"index '{index.name}'")
    for con in model.constraints:
        label = f"{con.kind.replace('_', ' ')} constraint" + (f" '{con.name}'" if con.name else "")
        problems += _missing(model, con.columns, label)
        if con.kind == "check" and not con.expression:
            problems.append(f"{label} on '{model.name}' has no expression")
        if con.kind in {"primary_key", "unique", "foreign_key"} and not con.columns:
            problems.append(f"{label} on '{model.name}' has no columns")
        if con.kind != "foreign_key":
            continue
        local = f"'{model.name}({', '.join(con.columns)})'"
        target = tables.get(con.ref_table or "")
        if target is None:
            problems.append(f"foreign key {local} references unknown table '{con.ref_table}'")
            continue
        if len(con.ref_columns) != len(con.columns):
            problems.append(
                f"foreign key {local} has {len(con.columns)} column(s) but references "
                f"{len(con.ref_columns)}"
            )
        for name in con.ref_columns:
            if target.column(name) is None:
                problems.append(
                    f"foreign key {local} references missing column '{target.name}.{name}'"
                )
    if sum(1 for c in model.constraints if c.kind == "primary_key") > 1:
        problems.append(f"table '{model.name}' has more than one primary key constraint")
    return problems


def _identifiers(models: Sequence[ModelDescriptor]) -> list[tuple[str, str]]:
    """Every name the SQL will carry, with what it names."""
    out: list[tuple[str, str]] = []
    for model in models:
        out.append(("table", model.name))
        out += [("column", f"{model.name}.{c.name}") for c in model.columns]
        out += [("index", i.name) for i in model.indexes]
        out += [("constraint", c.name) for c in model.constraints if c.name]
        out += [("enum type", c.enum_name) for c in model.columns if c.enum_name]
    return out


def validate_models(
    models: Sequence[ModelDescriptor],
    dialects: Sequence[ModelDialect] = (),
    *,
    known: Sequence[ModelDescriptor] = (),
) -> list[str]:
    """Every problem in ``models``, checked against ``dialects`` (their limits and types).

    :param known: tables that foreign keys may reference without being validated themselves.
    """
    types = set().union(*(d.type_names() for d in dialects)) if dialects else set()
    if not dialects:
        from pywatt.models.dialects import BASE_TYPES

        types = set(BASE_TYPES)
    problems: list[str] = []
    for name, count in Counter(m.name for m in models).items():
        if count > 1:
            problems.append(f"duplicate table '{name}'")
    index_names = Counter(i.name for m in models for i in m.indexes)
    problems += [f"duplicate index name '{n}'" for n, c in index_names.items() if c > 1]
    tables = {m.name: m for m in known} | {m.name: m for m in models}
    for model in models:
        problems += _column_problems(model, types)
        problems += _key_problems(model, tables)
    for dialect in dialects:
        limit = dialect.max_identifier_length
        if limit is None:
            continue
        for what, name in _identifiers(models):
            leaf = name.rsplit(".", 1)[-1]
            if len(leaf) > limit:
                problems.append(
                    f"{what} name '{name}' is {len(leaf)} characters, over {dialect.name}'s "
                    f"limit of {limit}"
                )
    return problems
