"""``pywatt run`` as a user runs it: a real subprocess, real modules, real HTTP to the proxy."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "examples" / "hello" / "hello.py"
HELLO_ENV = ROOT / "examples" / "hello" / ".env"

TINY = """
from __future__ import annotations

import os

from fastapi import FastAPI

from pywatt.core import pywatt_module

VERSION = {version}


@pywatt_module(secrets=["GREETING"])
def create_app(state):
    app = FastAPI()

    @app.get("/version")
    async def version() -> dict[str, object]:
        return {{
            "version": VERSION,
            "secret": state.user["GREETING"].expose(),
            "env": os.environ.get("GREETING"),
            "pid": os.getpid(),
        }}

    @app.post("/exit")
    async def die() -> None:
        os._exit(3)

    return app


if __name__ == "__main__":
    create_app.run()
"""


def _pywatt() -> str:
    beside = Path(sys.executable).with_name("pywatt")
    found = str(beside) if beside.exists() else shutil.which("pywatt")
    assert found, "the pywatt command is not installed"
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Run:
    """One ``pywatt run`` process: its stdout lines arrive on a queue, stderr in a file."""

    def __init__(self, args: list[str], tmp_path: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stderr_path = tmp_path / f"run-{self.port}.stderr"
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [_pywatt(), "run", *args, "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            cwd=ROOT,
            start_new_session=True,  # signals in the tests reach pywatt run only
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_line(self, text: str, timeout: float = 60.0) -> str:
        for line in self.lines:
            if text in line:
                return line
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(remaining, 0.01))
            except queue.Empty:
                line = None
                remaining = 0
            if line is None or remaining <= 0:
                pytest.fail(f"no {text!r} on stdout; got {self.lines}\nstderr:\n{self.stderr()}")
            self.lines.append(line)
            if text in line:
                return line

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, object]:
        req = urllib.request.Request(self.base + path, data=body, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def module_pids(self) -> list[int]:
        _, listing = self.request("GET", "/")
        assert isinstance(listing, dict)
        return [m["pid"] for m in listing["modules"].values() if m.get("pid")]

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._stderr.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._pump_thread.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self._stderr.close()


@pytest.fixture
def run_cli(tmp_path):
    runs: list[Run] = []

    def start(*args: str) -> Run:
        run = Run(list(args), tmp_path)
        runs.append(run)
        run.wait_line("Ctrl-C stops")
        return run

    yield start
    for run in runs:
        run.close()


def _gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_hello_over_ipc_then_clean_sigint(run_cli):
    run = run_cli(str(HELLO), "--secrets", str(HELLO_ENV))
    assert f"pywatt: ready — hello → {run.base}/hello/" in run.lines
    assert any(f"curl {run.base}/hello/hello" in line for line in run.lines)

    assert run.request("GET", "/hello/hello?name=you") == (200, {"message": "Hello, you!"})
    assert run.request("POST", "/hello/count") == (200, {"count": 1})
    assert run.request("POST", "/hello/count") == (200, {"count": 2})
    assert run.request("GET", "/hello/count") == (200, {"count": 2})
    assert run.request("GET", "/hello/health") == (200, {"status": "OK"})

    status, listing = run.request("GET", "/")
    assert status == 200
    assert isinstance(listing, dict)
    hello = listing["modules"]["hello"]
    assert hello["via"] == "ipc"
    assert hello["url"] == f"{run.base}/hello/"
    assert {"path": "/hello", "methods": ["GET"]} in hello["endpoints"]

    status, body = run.request("GET", "/nope/x")
    assert status == 404
    assert body == {"error": "no module 'nope'", "modules": ["hello"]}

    pids = run.module_pids()
    assert len(pids) == 1
    assert run.stop(signal.SIGINT) == 0
    assert _gone(pids[0]), "the module outlived pywatt run"


def test_hello_via_http_with_env_secret(run_cli):
    run = run_cli(
        str(HELLO), "--secrets", str(HELLO_ENV), "--env", "GREETING=Bonjour", "--via", "http"
    )
    # --env comes before the .env file in the secret lookup.
    assert run.request("GET", "/hello/hello?name=toi") == (200, {"message": "Bonjour, toi!"})
    assert run.request("POST", "/hello/count") == (200, {"count": 1})
    _, listing = run.request("GET", "/")
    assert isinstance(listing, dict)
    module = listing["modules"]["hello"]
    assert module["via"] == "http"
    assert module["address"].startswith("127.0.0.1:")
    pids = run.module_pids()
    assert run.stop(signal.SIGTERM) == 0
    assert all(_gone(pid) for pid in pids)


def test_env_reaches_secret_and_environment_and_id_renames(run_cli, tmp_path):
    tiny = tmp_path / "tiny.py"
    tiny.write_text(TINY.format(version=1))
    run = run_cli(str(tiny), "--id", "small", "--env", "GREETING=Hey")
    status, body = run.request("GET", "/small/version")
    assert status == 200
    assert isinstance(body, dict)
    assert (body["secret"], body["env"]) == ("Hey", "Hey")
    assert run.request("GET", "/tiny/version")[0] == 404


def test_reload_restarts_the_changed_module(run_cli, tmp_path):
    tiny = tmp_path / "tiny.py"
    tiny.write_text(TINY.format(version=1))
    run = run_cli(str(tiny), "--env", "GREETING=Hey", "--reload")
    status, first = run.request("GET", "/tiny/version")
    assert status == 200
    assert isinstance(first, dict)
    assert first["version"] == 1

    tiny.write_text(TINY.format(version=2))
    stamp = time.time() + 2  # a different mtime even on coarse-grained filesystems
    os.utime(tiny, (stamp, stamp))
    run.wait_line("reloaded — tiny", timeout=60)
    status, second = run.request("GET", "/tiny/version")
    assert status == 200
    assert isinstance(second, dict)
    assert second["version"] == 2
    assert second["pid"] != first["pid"]
    assert _gone(first["pid"]), "the old process still runs after the reload"
    assert run.stop() == 0


def test_dead_module_answers_502(run_cli, tmp_path):
    tiny = tmp_path / "tiny.py"
    tiny.write_text(TINY.format(version=1))
    run = run_cli(str(tiny), "--env", "GREETING=Hey")
    status, body = run.request("POST", "/tiny/exit")
    assert status == 502
    assert isinstance(body, dict)
    assert "tiny" in body["error"]
    run.wait_line("tiny exited with code 3")
    status, body = run.request("GET", "/tiny/version")
    assert status == 502
    assert body == {"error": "module 'tiny' is not running"}
    assert run.stop() == 0


def test_missing_secret_fails_startup_with_the_cause(tmp_path):
    tiny = tmp_path / "tiny.py"
    tiny.write_text(TINY.format(version=1))
    port = _free_port()
    proc = subprocess.run(
        [_pywatt(), "run", str(tiny), "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 1
    assert "tiny" in proc.stderr
    assert "pywatt: ready" not in proc.stdout


def test_busy_port_is_a_clear_error(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [_pywatt(), "run", str(HELLO), "--secrets", str(HELLO_ENV), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
    assert proc.returncode == 1
    assert f"cannot serve the proxy on 127.0.0.1:{port}" in proc.stderr


STUBBORN = """
import json, signal, sys, time

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
init = json.loads(sys.stdin.readline())
announce = {"op": "announce", "listen": init["listen"], "endpoints": []}
sys.stdout.write(json.dumps(announce) + "\\n")
sys.stdout.flush()
time.sleep(3600)  # ignores shutdown, stdin EOF and signals
"""


def test_second_signal_kills_a_module_that_will_not_stop(run_cli, tmp_path):
    stubborn = tmp_path / "stubborn.py"
    stubborn.write_text(STUBBORN)
    run = run_cli("--cmd", f"{sys.executable} {stubborn}")
    [pid] = run.module_pids()
    run.proc.send_signal(signal.SIGINT)
    run.wait_line("SIGINT; stopping modules")
    time.sleep(1)
    assert run.proc.poll() is None, "pywatt run gave up on the graceful stop at once"
    assert run.stop(signal.SIGINT, timeout=5) == 0
    assert "killing modules" in run.wait_line("SIGINT again", timeout=1)
    assert _gone(pid)


def test_restart_brings_a_crashed_module_back(run_cli, tmp_path):
    tiny = tmp_path / "tiny.py"
    tiny.write_text(TINY.format(version=1))
    run = run_cli(str(tiny), "--env", "GREETING=Hey", "--restart")
    _status, first = run.request("GET", "/tiny/version")
    status, _body = run.request("POST", "/tiny/exit")
    assert status == 502
    deadline = time.monotonic() + 60
    while True:
        status, body = run.request("GET", "/tiny/version")
        if status == 200:
            break
        assert time.monotonic() < deadline, "the module was not restarted"
        time.sleep(0.5)
    assert body["pid"] != first["pid"]
    assert run.stop() == 0
