"""What a statement is, read with the SQL dialect's own tokenizer (sqlglot's).

Two questions are answered here, never with a hand-written scanner:

* where the ``:name`` placeholders are, so the proxy can send the remote database's own
  positional style (``?`` for SQLite and MySQL, ``$1`` for PostgreSQL, as the reference wire
  does). A ``:name`` inside a string literal, a quoted identifier or a comment is text, and
  the rest of the statement is sent byte for byte; the server binds the values.
* whether a statement only reads, so that a statement whose connection was lost may be run
  again: writes are never repeated, since their commit may already have happened.

sqlglot is imported on first use: it is only needed by the proxy and after a lost connection.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Set
from typing import Any

from pywatt.data.errors import DatabaseParameterError, StatementRewriteError

__all__ = ["checked_params", "is_read", "to_positional"]

#: pywatt backend name -> sqlglot dialect
_DIALECTS = {"sqlite": "sqlite", "postgres": "postgres", "mysql": "mysql"}
_NAME = re.compile(r"\w+")
#: Statements that never write, by their first keyword (``WITH`` may hide a DML in PostgreSQL).
_READ_KEYWORDS = frozenset({"SELECT", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "VALUES"})
#: Tokens that make a SELECT write or take locks: ``SELECT ... INTO``, ``FOR UPDATE``.
_WRITE_MARKERS = frozenset({"INTO", "UPDATE", "INSERT", "DELETE", "MERGE", "REPLACE", "LOCK"})


def _tokens(sql: str, backend: str) -> list[Any]:
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import TokenError

    try:
        return list(Dialect.get_or_raise(_DIALECTS[backend]).tokenize(sql))
    except TokenError as exc:
        raise StatementRewriteError(
            f"cannot read this statement as {backend} SQL ({exc}); it was not sent"
        ) from None


@functools.lru_cache(maxsize=1024)
def _template(sql: str, backend: str) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    """The statement split around its placeholders: ``pieces[i]`` precedes ``names[i]``.

    The last item is the offset of a positional placeholder outside literals, or -1.
    """
    from sqlglot import TokenType

    tokens = _tokens(sql, backend)
    pieces: list[str] = []
    names: list[str] = []
    cut = 0
    positional = -1
    # '?' is an operator in PostgreSQL (jsonb); '$1' is its positional placeholder.
    own_positional = TokenType.PARAMETER if backend == "postgres" else TokenType.PLACEHOLDER
    for i, tok in enumerate(tokens):
        if tok.token_type == own_positional:
            positional = tok.start if positional < 0 else positional
        if tok.token_type != TokenType.COLON or i + 1 >= len(tokens):
            continue
        name_tok = tokens[i + 1]
        name = sql[tok.end + 1 : name_tok.end + 1]
        if name_tok.start != tok.end + 1 or not _NAME.fullmatch(name):
            continue
        before = sql[tok.start - 1] if tok.start else ""
        if before == "\\" and i and tokens[i - 1].end == tok.start - 1:
            # '\:name' outside a literal is a literal ':name' (SQLAlchemy text()'s escape).
            pieces.append(sql[cut : tok.start - 1])
            names.append("")
            cut = tok.start
            continue
        if _NAME.fullmatch(before) or before == ":":
            continue  # 'a:b', 'x::int' are not placeholders
        pieces.append(sql[cut : tok.start])
        names.append(name)
        cut = name_tok.end + 1
    pieces.append(sql[cut:])
    return tuple(pieces), tuple(names), positional


def checked_params(
    sql: object, params: Mapping[str, Any] | None, names: Set[str]
) -> Mapping[str, Any]:
    """``params`` if it is a mapping with a value for exactly the placeholders ``names``."""
    if not isinstance(sql, str):
        raise DatabaseParameterError(f"sql must be a str, got {type(sql).__name__}")
    if params is None:
        params = {}
    elif not isinstance(params, Mapping):
        raise DatabaseParameterError(
            f"params must be a mapping of placeholder names to values, got "
            f"{type(params).__name__}; write ':name' placeholders in the SQL"
        )
    missing = sorted(names - params.keys())
    if missing:
        raise DatabaseParameterError(f"no value for placeholder(s) {', '.join(missing)}")
    unused = sorted(str(k) for k in params.keys() - names)
    if unused:
        raise DatabaseParameterError(
            f"parameter(s) {', '.join(unused)} have no ':name' placeholder in the SQL"
        )
    return params


def to_positional(
    sql: str, params: Mapping[str, Any] | None, backend: str
) -> tuple[str, list[Any]]:
    """``:name`` placeholders in the ``backend``'s positional style, and the values in order."""
    if not isinstance(sql, str):
        checked_params(sql, params, set())  # raises for the type
    pieces, names, positional = _template(sql, backend)
    params = checked_params(sql, params, {n for n in names if n})
    if positional >= 0:
        # The server would bind it, with no value the proxy knows of.
        raise StatementRewriteError(
            f"a positional placeholder ('?' or '$1') at offset {positional}, outside any "
            "literal: write ':name' placeholders and pass a mapping"
        )
    out = [pieces[0]]
    values: list[Any] = []
    numbers: dict[str, int] = {}
    for name, piece in zip(names, pieces[1:], strict=True):
        if not name:
            out.append(piece)  # the escaped colon stays in the next piece
            continue
        if backend == "postgres":
            if name not in numbers:
                values.append(params[name])
                numbers[name] = len(values)
            out.append(f"${numbers[name]}")
        else:
            values.append(params[name])
            out.append("?")
        out.append(piece)
    return "".join(out), values


@functools.lru_cache(maxsize=1024)
def is_read(sql: str, backend: str) -> bool:
    """Whether running ``sql`` twice cannot change data: a plain SELECT, SHOW, EXPLAIN...

    A SELECT that calls a function with side effects (``nextval``) still counts as a read.
    """
    try:
        tokens = _tokens(sql, backend)
    except StatementRewriteError:
        return False
    if not tokens or tokens[0].text.upper() not in _READ_KEYWORDS:
        return False
    return not any(t.text.upper() in _WRITE_MARKERS for t in tokens)
