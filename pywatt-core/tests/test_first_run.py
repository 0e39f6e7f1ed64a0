"""A module started by hand in a terminal says what it waits for; under a pipe it says nothing."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import textwrap
import time

MODULE = textwrap.dedent(
    """
    from pywatt.core import PyWattModule
    PyWattModule(None).run()
    """
)
INIT = (
    b'{"op":"init","orchestrator_api":"http://127.0.0.1:9900","module_id":"first",'
    b'"env":{},"listen":"127.0.0.1:0","security_level":"None"}\n'
)


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while needle not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    return data


def test_a_terminal_gets_one_explanation_and_the_module_keeps_waiting(tmp_path):
    script = tmp_path / "first.py"
    script.write_text(MODULE)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYWATT_MODULE_ID": "first"},
    )
    os.close(slave)
    assert proc.stdout is not None
    assert proc.stderr is not None
    err = _read_until(proc.stderr.fileno(), b"pywatt run", timeout=20)
    (record,) = [json.loads(line) for line in err.splitlines()]
    message = record["fields"]["message"]
    assert "waiting for an orchestrator" in message
    assert f"pywatt run {os.path.relpath(script)}" in message
    assert "pytest fixtures" in message
    # Still waiting: an init typed into the terminal is read as usual.
    os.write(master, INIT)
    out = _read_until(proc.stdout.fileno(), b"\n", timeout=20)
    assert json.loads(out)["op"] == "announce"
    os.close(master)
    proc.wait(timeout=10)
    assert proc.stdout.read() == b""  # nothing else on stdout
    proc.stdout.close()
    proc.stderr.close()


def test_a_pipe_gets_no_explanation(tmp_path):
    script = tmp_path / "first.py"
    script.write_text(MODULE)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYWATT_MODULE_ID": "first"},
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(INIT)
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline())["op"] == "announce"
    _, err = proc.communicate(timeout=30)
    assert b"waiting for an orchestrator" not in err
