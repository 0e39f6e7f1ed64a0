"""Secrets never reach stdout or stderr, whatever a module's code or its orchestrator does.

Each provocation runs as a real module process; the secret is then looked for in every
spelling the redactor knows (raw, ``repr``, JSON-escaped), on both streams.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from pywatt.core.redact import spellings

SECRET = "Sup3r-s3cret-Xq9"
INIT = (
    b'{"op":"init","orchestrator_api":"http://127.0.0.1:9900","module_id":"leaky",'
    b'"env":{},"listen":"127.0.0.1:0","security_level":"None"}\n'
)
SECRET_LINE = json.dumps({"op": "secret", "name": "TOKEN", "value": SECRET}).encode() + b"\n"

HEADER = """
import gc, sys, threading, time, warnings
from pywatt.core import PyWattModule

class Loud:
    def __del__(self):
        raise ValueError("in __del__: " + TOKEN)

def boom():
    raise ValueError("thread saw " + TOKEN)

def build(config, secrets):
    global TOKEN
    TOKEN = secrets["TOKEN"].expose() if "TOKEN" in secrets else ""
"""
FOOTER = """
    return {}

PyWattModule(None, secrets=SECRETS, state=build).run()
"""

# What the state builder does once it holds the secret; "fails" says whether bootstrap fails.
PROVOCATIONS = {
    "builder-raises": ("raise ValueError('cannot connect with ' + TOKEN)", True),
    "builder-raises-repr": ("raise KeyError({'token': TOKEN})", True),
    "builder-raises-chained": (
        "try:\n        raise OSError(TOKEN)\n    except OSError as e:\n"
        "        raise RuntimeError('wrapped') from e",
        True,
    ),
    "thread-raises": ("t = threading.Thread(target=boom); t.start(); t.join()", False),
    "warning": ("warnings.warn('token ' + TOKEN + ' is weak')", False),
    "unraisable": ("Loud(); gc.collect()", False),
    "sys-exit": ("sys.exit('giving up on ' + TOKEN)", True),
}


def _script(tmp_path, body: str, secrets: str = "['TOKEN']") -> str:
    source = HEADER + "    " + body + FOOTER
    path = tmp_path / "leaky.py"
    path.write_text(textwrap.dedent(source).replace("SECRETS", secrets))
    return str(path)


def _run(
    script: str, stdin: bytes, *, answer_secret: bool = False
) -> subprocess.CompletedProcess[bytes]:
    """Run a module; with ``answer_secret``, reply to its get_secret as an orchestrator does."""
    proc = subprocess.Popen(
        [sys.executable, script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYWATT_MODULE_ID": "leaky"},
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    head = b""
    if answer_secret:
        proc.stdin.write(INIT)
        proc.stdin.flush()
        head = proc.stdout.readline()
        assert head == b'{"op":"get_secret","name":"TOKEN"}\n'
    out, err = proc.communicate(stdin, timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, head + out, err)


def _assert_clean(proc: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    out, err = proc.stdout.decode(), proc.stderr.decode()
    for form in spellings(SECRET):
        assert form not in out, f"secret on stdout as {form!r}"
        assert form not in err, f"secret on stderr as {form!r}:\n{err}"
    # stderr is JSON lines only: nothing raw slipped past the logger.
    return [json.loads(line) for line in err.splitlines()]


@pytest.mark.parametrize("name", sorted(PROVOCATIONS))
def test_no_provocation_leaks_the_secret(tmp_path, name):
    body, fails = PROVOCATIONS[name]
    proc = _run(_script(tmp_path, body), SECRET_LINE, answer_secret=True)
    records = _assert_clean(proc)
    assert any("[REDACTED]" in json.dumps(r) for r in records), proc.stderr.decode()
    if fails:
        failures = [r for r in records if "bootstrap failed" in str(r["fields"]["message"])]
        assert proc.returncode == 1
        assert len(failures) == 1
        assert "exception" in failures[0]["fields"]  # the traceback, redacted
    else:
        assert proc.returncode == 0  # announced, then stopped at EOF
        assert b'"op":"announce"' in proc.stdout


def test_a_default_secret_is_redacted_too(tmp_path):
    # The orchestrator answers no secret; the module falls back to its default value.
    script = _script(
        tmp_path,
        "raise ValueError('default was ' + TOKEN)",
        secrets=f"{{'TOKEN': {SECRET!r}}}",
    )
    proc = subprocess.Popen(
        [sys.executable, script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYWATT_MODULE_ID": "leaky"},
    )
    assert proc.stdin is not None
    proc.stdin.write(INIT)
    proc.stdin.flush()
    # Never answering get_secret (stdin kept open) makes the module wait its secret_timeout,
    # then fall back to the default.
    proc.wait(timeout=30)
    out, err = proc.communicate(timeout=5)
    _assert_clean(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert proc.returncode == 1


# Lines a module cannot read that still carry the secret; the module never learns the value,
# so only not logging values can keep it out of stderr.
BAD_LINES = [
    '{"op":"Secret","name":"G","value":"%s"}',
    '["Secret","G","%s"]',
    '{"op":"INIT","env":{"K":"%s"}}',
    '{"op":"secre\\u0074","name":"G","value":["%s"]}',
    '{"op":"secret","name":"G","value":"%s"',
    '{"op":{"value":"%s"}}',
    '{"op":"heartbeat","\\u006fp":"%s"}',
    '{"op":"http_request","request_id":"r-bad","method":"GET","uri":"/","headers":{"x":"%s"},'
    '"body":[256]}',
]


def test_unreadable_orchestrator_lines_are_logged_without_values(tmp_path):
    script = _script(tmp_path, "pass", secrets="[]")
    lines = b"".join((line % SECRET).encode() + b"\n" for line in BAD_LINES)
    rotated = b'{"op":"rotated","keys":["A"],"rotation_id":"rot-1"}\n'
    proc = _run(script, INIT + lines + rotated)
    records = _assert_clean(proc)
    ignored = [r for r in records if "invalid stdin line" in str(r["fields"]["message"])]
    assert len(ignored) == len(BAD_LINES)
    # Still serving after them all: the rotation after the bad lines is acknowledged, and the
    # invalid http_request got its 400 (its id echoed, none of its values).
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {"op": "rotation_ack", "rotation_id": "rot-1", "status": "success"} in out
    assert [o["content"]["status_code"] for o in out if "content" in o] == [400]
    assert proc.returncode == 0


def test_uncaught_exceptions_outside_the_module_are_redacted(tmp_path):
    # sys.excepthook: an exception escaping the script itself, after capture_uncaught().
    path = tmp_path / "crash.py"
    path.write_text(
        textwrap.dedent(
            f"""
            from pywatt.core.logs import capture_uncaught, configure_logging
            from pywatt.core.redact import register_secret
            configure_logging()
            capture_uncaught()
            register_secret({SECRET!r})
            raise RuntimeError("crashed holding " + {SECRET!r})
            """
        )
    )
    proc = _run(str(path), b"")
    (record,) = _assert_clean(proc)
    assert proc.returncode == 1
    assert record["level"] == "ERROR"
    assert "RuntimeError: crashed holding [REDACTED]" in record["fields"]["exception"]
