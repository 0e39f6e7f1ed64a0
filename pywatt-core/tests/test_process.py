"""A module as a real process: stdout carries only protocol lines, and it exits on time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

INIT = (
    b'{"op":"init","orchestrator_api":"http://127.0.0.1:9900","module_id":"proc",'
    b'"env":{"DB_PASSWORD":"env-secret-value"},"listen":"127.0.0.1:0","security_level":"None"}\n'
)

MODULE = textwrap.dedent(
    """
    import os, subprocess, sys, time
    from pywatt.core import PyWattModule

    def build(config, secrets):
        print("stray print from the builder")
        sys.stdout.write("stray sys.stdout write\\n")
        os.write(1, b"raw fd-1 write\\n")
        subprocess.run(["echo", "child process output"], check=True)
        import logging
        logging.getLogger("proc").warning("token is %s", secrets["TOKEN"].expose())
        return {}

    module = PyWattModule(None, secrets=["TOKEN"], state=build)
    if os.environ.get("HANG_ON_ROTATION"):
        from pywatt.core.secrets import SecretClient
        original = SecretClient.handle_rotated
        async def hang(self, msg):
            time.sleep(60)  # blocks the event loop on purpose
        SecretClient.handle_rotated = hang
    module.run()
    """
)


@pytest.fixture
def module_script(tmp_path):
    path = tmp_path / "proc_module.py"
    path.write_text(MODULE)
    return path


def spawn(script, **env):
    return subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYWATT_MODULE_ID": "proc", **env},
    )


def handshake(proc):
    proc.stdin.write(INIT)
    proc.stdin.flush()
    assert proc.stdout.readline() == b'{"op":"get_secret","name":"TOKEN"}\n'
    proc.stdin.write(b'{"op":"secret","name":"TOKEN","value":"tok-very-secret"}\n')
    proc.stdin.flush()
    announce = json.loads(proc.stdout.readline())
    assert announce == {"op": "announce", "listen": "127.0.0.1:0", "endpoints": []}


def finish(proc, timeout):
    if proc.stdin.closed:
        proc.stdin = None  # communicate() would flush it
    start = time.monotonic()
    out, err = proc.communicate(timeout=timeout)
    return out, err.decode(), time.monotonic() - start


def test_stdout_carries_only_protocol_and_eof_exits_fast(module_script):
    proc = spawn(module_script)
    handshake(proc)
    proc.stdin.write(b'{"op":"rotated","keys":["TOKEN"],"rotation_id":"r1"}\n')
    proc.stdin.flush()
    ack = b'{"op":"rotation_ack","rotation_id":"r1","status":"success"}\n'
    assert proc.stdout.readline() == ack
    proc.stdin.close()
    out, err, elapsed = finish(proc, timeout=10)
    assert out == b""  # nothing after the protocol lines
    assert proc.returncode == 0
    assert elapsed < 2.5
    for stray in ("stray print", "stray sys.stdout", "raw fd-1 write", "child process output"):
        assert stray in err
    assert "tok-very-secret" not in err
    assert "env-secret-value" not in err
    log_lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(line["fields"]["message"] == "token is [REDACTED]" for line in log_lines)


def test_shutdown_exits(module_script):
    proc = spawn(module_script)
    handshake(proc)
    proc.stdin.write(b'{"op":"shutdown"}\n')
    proc.stdin.flush()
    _out, _err, elapsed = finish(proc, timeout=10)
    assert proc.returncode == 0
    assert elapsed < 2.5


def test_sigterm_exits(module_script):
    proc = spawn(module_script)
    handshake(proc)
    proc.send_signal(signal.SIGTERM)
    _out, err, elapsed = finish(proc, timeout=10)
    assert proc.returncode == 0, err
    assert elapsed < 2.5


def test_exits_within_two_seconds_of_eof_even_when_the_app_hangs(module_script):
    proc = spawn(module_script, HANG_ON_ROTATION="1")
    handshake(proc)
    proc.stdin.write(b'{"op":"rotated","keys":["TOKEN"],"rotation_id":"r1"}\n')
    proc.stdin.flush()
    time.sleep(0.3)  # let the rotation handler start hanging the loop
    proc.stdin.close()
    _out, _err, elapsed = finish(proc, timeout=10)
    assert elapsed < 3.0  # 2 s promised, plus process teardown margin


def test_oversized_init_is_rejected(module_script):
    proc = spawn(module_script)
    out, err = proc.communicate(b"{" + b" " * (1024 * 1024 + 10) + b"}\n", timeout=20)
    assert proc.returncode == 1
    assert out == b""
    assert "exceeds 1048576 bytes" in err.decode()


def test_eof_while_waiting_for_a_bootstrap_secret_fails_at_once(module_script):
    # No reply can come after EOF: the pending fetch fails instead of holding the exit until
    # the hard deadline, and the orchestrator sees a failed start, not a clean one.
    proc = spawn(module_script)
    proc.stdin.write(INIT)
    proc.stdin.flush()
    assert proc.stdout.readline() == b'{"op":"get_secret","name":"TOKEN"}\n'
    proc.stdin.close()
    _out, err, elapsed = finish(proc, timeout=10)
    assert proc.returncode == 1, err
    assert "stdin closed before the reply came" in err
    assert "graceful stop exceeded" not in err
    assert elapsed < 3.0
