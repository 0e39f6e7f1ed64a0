from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from pywatt.core.errors import ConfigError
from pywatt.core.logs import (
    TRACE,
    JsonLogFormatter,
    RedactionFilter,
    configure_logging,
    describe_line,
    log_span,
    parse_level,
)
from pywatt.core.redact import REDACTED, Redactor, get_redactor, spellings

SAMPLES = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "stderr_log_samples.jsonl"
TIMESTAMP = re.compile(r'"timestamp":"([^"]*)"')
LEVELS = {"TRACE": TRACE, "DEBUG": 10, "INFO": 20, "WARN": 30, "ERROR": 40}

secret_values = st.text(min_size=1, max_size=30).filter(lambda s: "[" not in s and "]" not in s)


def capture(name: str, redactor: Redactor | None = None) -> tuple[logging.Logger, io.StringIO]:
    """A private logger writing JSON lines into a buffer, cut off from the root logger."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonLogFormatter(redactor))
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(1)
    return logger, buf


@pytest.fixture
def root_logger(monkeypatch):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    for var in ("PYWATT_LOG", "RUST_LOG"):
        monkeypatch.delenv(var, raising=False)
    yield root
    for h in root.handlers[:]:
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


@pytest.mark.parametrize("sample", SAMPLES.read_text().splitlines())
def test_formatter_reproduces_rust_samples(sample):
    expected = json.loads(sample)
    logger, buf = capture(expected["target"])
    fields = dict(expected["fields"])
    message = fields.pop("message")
    span = dict(expected.get("span", {}))
    if span:
        with log_span(span.pop("name"), **span):
            logger.log(LEVELS[expected["level"]], message, extra=fields)
    else:
        logger.log(LEVELS[expected["level"]], message, extra=fields)
    line = buf.getvalue()
    assert line.endswith("\n")
    assert line.count("\n") == 1
    stamp = json.loads(line)["timestamp"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp)
    # Byte-for-byte equal once the timestamp is the sample's.
    assert TIMESTAMP.sub(f'"timestamp":"{expected["timestamp"]}"', line.rstrip("\n")) == sample


def test_timestamp_is_utc_with_microseconds():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "m", None, None)
    record.created = 1_795_669_596.831053
    assert JsonLogFormatter().formatTime(record) == "2026-11-26T05:06:36.831053Z"


@pytest.mark.parametrize(
    ("levelno", "name"),
    [
        (TRACE, "TRACE"),
        (logging.DEBUG, "DEBUG"),
        (logging.INFO, "INFO"),
        (25, "INFO"),
        (logging.WARNING, "WARN"),
        (logging.ERROR, "ERROR"),
        (logging.CRITICAL, "ERROR"),
    ],
)
def test_level_names(levelno, name):
    logger, buf = capture("levels")
    logger.log(levelno, "x")
    assert json.loads(buf.getvalue())["level"] == name
    assert logging.getLevelName(TRACE) == "TRACE"


def test_extra_fields_keep_order_and_exception_comes_last():
    logger, buf = capture("order")
    try:
        raise RuntimeError("kaput")
    except RuntimeError:
        logger.exception("failed", extra={"zeta": 1, "alpha": [1, 2], "mid": {"k": None}})
    out = json.loads(buf.getvalue())
    assert list(out) == ["timestamp", "level", "fields", "target"]
    assert list(out["fields"]) == ["message", "zeta", "alpha", "mid", "exception"]
    assert out["fields"]["alpha"] == [1, 2]
    assert out["fields"]["exception"].startswith("Traceback (most recent call last):")
    assert out["fields"]["exception"].endswith("RuntimeError: kaput")


def test_one_line_per_record_with_raw_unicode_and_unserializable_extra():
    logger, buf = capture("unicode")
    logger.info("h\u00e9llo\nsecond line \u2713", extra={"path": Path("/tmp/x"), "n": 1.5})
    text = buf.getvalue()
    assert text.count("\n") == 1
    assert "h\u00e9llo\\nsecond line \u2713" in text
    assert json.loads(text)["fields"] == {
        "message": "h\u00e9llo\nsecond line \u2713",
        "path": "/tmp/x",
        "n": 1.5,
    }


def test_terminal_colour_copies_of_the_message_are_dropped():
    # uvicorn adds an ANSI-coloured copy of each message; the JSON line keeps the plain one.
    logger, buf = capture("colour")
    logger.info("Started server process [%d]", 7, extra={"color_message": "\x1b[36m%d\x1b[0m"})
    assert json.loads(buf.getvalue())["fields"] == {"message": "Started server process [7]"}


def test_stack_info_is_a_field():
    logger, buf = capture("stack")
    logger.info("here", stack_info=True)
    assert json.loads(buf.getvalue())["fields"]["stack"].startswith("Stack (most recent call")


def test_nested_spans():
    logger, buf = capture("spans")
    with log_span("outer", module_id="m"), log_span("inner", req=1):
        logger.info("x")
    logger.info("after")
    first, second = (json.loads(line) for line in buf.getvalue().splitlines())
    assert first["span"] == {"req": 1, "name": "inner"}
    assert first["spans"] == [{"module_id": "m", "name": "outer"}, {"req": 1, "name": "inner"}]
    assert "span" not in second


@settings(deadline=None)
@given(secrets=st.lists(secret_values, min_size=1, max_size=3, unique=True))
def test_no_secret_reaches_the_log_output(secrets):
    redactor = Redactor()
    for s in ["sk-" + s for s in secrets]:
        redactor.register(s)
    values = ["sk-" + s for s in secrets]
    logger, buf = capture("prop", redactor)
    first = values[0]
    logger.warning("connecting with %s and %r", first, values[-1], extra={"token": values})
    try:
        try:
            raise KeyError(first)
        except KeyError as exc:
            raise ValueError(f"bad credentials {values!r} for {first}") from exc
    except ValueError:
        logger.exception("login failed for %s", first, extra={"auth": {"key": first}})
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2
    for line in lines:
        decoded = json.dumps(json.loads(line), ensure_ascii=False)
        for value in values:
            for form in spellings(value):
                assert form not in line
            assert value not in decoded
        assert REDACTED in line
    assert "Traceback" in json.loads(lines[1])["fields"]["exception"]


def string_leaves(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from string_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from string_leaves(item)


@settings(deadline=None)
@given(secret=secret_values.filter(lambda s: s not in REDACTED))
def test_any_secret_keeps_the_line_valid_json(secret):
    redactor = Redactor()
    redactor.register(secret)
    logger, buf = capture("shape", redactor)
    try:
        raise OSError(f"cannot open {secret!r}")
    except OSError:
        extra = {f"key_{secret}": [secret, 7], "n": 3}
        with log_span("sp", **{f"f_{secret}": secret}):
            logger.error("value %s", secret, exc_info=True, extra=extra)
    out = json.loads(buf.getvalue())
    assert list(out) == ["timestamp", "level", "fields", "target", "span", "spans"]
    keys = list(out["fields"])
    assert (len(keys), keys[0], keys[-1]) == (4, "message", "exception")
    assert list(out["span"])[-1] == "name"
    # Every string in the record except the two keys the format itself names.
    extra_keys = [k for k in out["fields"] if k not in ("message", "exception")]
    span_keys = [k for span in out["spans"] for k in span if k != "name"]
    span_values = [list(span.values()) for span in out["spans"]]
    leaves = [*string_leaves([*out["fields"].values(), *span_values]), *extra_keys, *span_keys]
    assert len(leaves) >= 7
    for leaf in leaves:
        for form in spellings(secret):
            assert form not in leaf


def test_skeleton_survives_secrets_that_look_like_keys():
    redactor = Redactor()
    for secret in ("timestamp", "p", "level", '":"', "200", "age", "tion", "name"):
        redactor.register(secret)
    logger, buf = capture("skeleton", redactor)
    with log_span("sp"):
        try:
            raise ValueError("x")
        except ValueError:
            logger.exception("sent response", extra={"status_code": 200, "obj": Path("/x/200")})
    out = json.loads(buf.getvalue())
    assert list(out) == ["timestamp", "level", "fields", "target", "span", "spans"]
    assert list(out["fields"]) == ["message", "status_code", "obj", "exception"]
    assert out["fields"]["message"] == f"sent res{REDACTED}onse"
    assert out["fields"]["status_code"] == REDACTED
    assert out["fields"]["obj"] == f"/x/{REDACTED}"
    assert out["span"] == {"name": f"s{REDACTED}"}


def test_redaction_filter_for_plain_handlers():
    redactor = Redactor()
    redactor.register("pa'ss")
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(RedactionFilter(redactor))
    handler.setFormatter(logging.Formatter("%(message)s|%(user)s"))
    logger = logging.getLogger("plainfilter")
    logger.handlers[:] = [handler]
    logger.propagate = False
    try:
        raise PermissionError("pa'ss")
    except PermissionError:
        logger.exception("using %s", "pa'ss", extra={"user": "x pa'ss"})
    text = buf.getvalue()
    assert "pa'ss" not in text
    assert "pa\\'ss" not in text
    assert text.startswith(f"using {REDACTED}|x {REDACTED}\nTraceback")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("trace", TRACE),
        ("DEBUG", logging.DEBUG),
        (" info ", logging.INFO),
        ("warn", logging.WARNING),
        ("warning", logging.WARNING),
        ("error", logging.ERROR),
        ("off", logging.CRITICAL + 10),
        ("15", 15),
        (logging.ERROR, logging.ERROR),
    ],
)
def test_parse_level(value, expected):
    assert parse_level(value) == expected


@pytest.mark.parametrize("value", ["verbose", "", "pywatt=debug", True, 1.5])
def test_parse_level_rejects_junk(value):
    with pytest.raises(ConfigError, match="log level"):
        parse_level(value)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, logging.INFO),
        ({"RUST_LOG": "debug"}, logging.DEBUG),
        ({"RUST_LOG": "my_crate=trace"}, logging.INFO),
        ({"RUST_LOG": "hyper=info,warn,tower_http=debug"}, logging.WARNING),
        ({"RUST_LOG": "error", "PYWATT_LOG": "trace"}, TRACE),
        ({"RUST_LOG": "error", "PYWATT_LOG": " "}, logging.ERROR),
        ({"PYWATT_LOG": "whatever"}, logging.INFO),
    ],
)
def test_configure_logging_level_from_env(root_logger, monkeypatch, env, expected):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    configure_logging(stream=io.StringIO())
    assert root_logger.level == expected


def test_configure_logging_argument_wins_over_env(root_logger, monkeypatch):
    monkeypatch.setenv("PYWATT_LOG", "error")
    configure_logging("debug", stream=io.StringIO())
    assert root_logger.level == logging.DEBUG
    with pytest.raises(ConfigError, match="unknown log level 'loud'"):
        configure_logging("loud")


def test_configure_logging_is_idempotent_and_keeps_foreign_handlers(root_logger):
    foreign = logging.NullHandler()
    root_logger.addHandler(foreign)
    first, second = io.StringIO(), io.StringIO()
    configure_logging("info", stream=first)
    configure_logging("info", stream=second)
    assert foreign in root_logger.handlers
    ours = [h for h in root_logger.handlers if isinstance(h.formatter, JsonLogFormatter)]
    assert len(ours) == 1
    logging.getLogger("idem").info("once")
    assert first.getvalue() == ""
    assert json.loads(second.getvalue())["fields"]["message"] == "once"


def test_configure_logging_writes_to_current_stderr(root_logger, capsys):
    configure_logging("info")
    logging.getLogger("stderr.target").warning("to stderr")
    out, err = capsys.readouterr()
    assert out == ""
    assert json.loads(err)["target"] == "stderr.target"


def test_logging_errors_are_reported_redacted(root_logger, capsys):
    get_redactor().register("handle-error-secret-7c1")
    configure_logging("info")
    ours = [h for h in root_logger.handlers if isinstance(h.formatter, JsonLogFormatter)]
    # pytest's own capture handler on the root re-raises logging errors; bypass it.
    logger = logging.getLogger("broken")
    logger.handlers[:] = ours
    logger.propagate = False
    logger.info("number %d", "handle-error-secret-7c1")
    err = capsys.readouterr().err
    assert "pywatt logging error in broken" in err
    assert "handle-error-secret-7c1" not in err


def test_end_to_end_stderr_of_a_real_process():
    secret = 'pg://u:p"w\\\u00e9@h/db'
    code = textwrap.dedent(
        f"""
        import logging, sys
        from pywatt.core.logs import configure_logging
        from pywatt.core.redact import register_secret
        secret = {secret!r}
        register_secret(secret)
        configure_logging()
        log = logging.getLogger("e2e")
        log.info("dsn=%s", secret, extra={{"dsn": secret}})
        try:
            {{}}[secret]
        except KeyError:
            log.exception("lookup of %r failed", secret)
        log.debug("hidden %s", secret)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
    )
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert [r["level"] for r in records] == ["INFO", "ERROR"]
    assert records[0]["fields"] == {"message": f"dsn={REDACTED}", "dsn": REDACTED}
    assert f"KeyError: '{REDACTED}'" in records[1]["fields"]["exception"]
    for form in spellings(secret):
        assert form not in proc.stderr


# --- describe_line ---------------------------------------------------------------------------

SECRET = "s3cr3t-Value-77"
# Lines an orchestrator might send that a module cannot read but that may still carry a
# secret (PROTOCOL.md has no such op spellings; each of these was once logged raw).
PROVOCATIONS = [
    '{"op":"Secret","name":"G","value":"%s"}',
    '["Secret","G","%s"]',
    '["secret","G","%s"]',
    '{"op":"INIT","env":{"K":"%s"}}',
    '{"op":"secre\\u0074","name":"G","value":["%s"]}',
    '{"op":"secret","name":"G","value":"%s"',
    '{"op":"secret","name":"G","value":"%s","value":1}',
    '{"env":{"K":"%s"},"module_id":7}',
    '{"op":{"x":"%s"}}',
    '"%s"',
    "%s",
]


@pytest.mark.parametrize("template", PROVOCATIONS)
def test_describe_line_shows_no_value(template):
    line = template % SECRET
    for data in (line, line.encode()):
        text = describe_line(data)
        for form in spellings(SECRET):
            assert form not in text
        assert text.startswith(f"{len(line.encode())} bytes, sha256 ")


@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["op", "name", "value", "env"]), inner, max_size=3)
        ),
        max_leaves=8,
    )
)
def test_describe_line_never_shows_a_value(value):
    marker = "zq-marker-zq"
    line = json.dumps({"op": "secret", "name": marker, "value": [value, marker]})
    assert marker not in describe_line(line)
    assert marker not in describe_line(line[: len(line) // 2])


def test_describe_line_gives_the_shape():
    line = b'{"op":"heartbeat","extra":[1,2,3]}'
    digest = hashlib.sha256(line).hexdigest()[:16]
    assert (
        describe_line(line) == f"{len(line)} bytes, sha256 {digest}, object with keys [op, extra]"
    )
    assert describe_line(b"[1,2]").endswith("array of 2 items")
    assert describe_line(b"nope").endswith("not JSON")
    assert describe_line(b"12").endswith("JSON int")
    many = json.dumps({f"k{i}": i for i in range(20)})
    assert describe_line(many).endswith("k15, +4 more]")


def test_describe_line_redacts_registered_keys():
    get_redactor().register("describe-key-secret-55e")
    text = describe_line(json.dumps({"describe-key-secret-55e": 1}))
    assert text.endswith(f"object with keys [{REDACTED}]")
