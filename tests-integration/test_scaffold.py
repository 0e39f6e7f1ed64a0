"""``pywatt new`` end to end: what it generates installs, lints, type-checks, tests and runs.

The generated projects are installed into a fresh venv with uv, their pywatt requirements
(with the extras they declare, and nothing else) resolved to this checkout. Then their own
tools run there: ruff, mypy --strict, each pytest suite, and ``pywatt run`` with real HTTP
requests through the proxy. The module projects share one venv, the plugins another.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pywatt.cli.new import KINDS

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DISTS = ["core", "comm", "data", "auth", "server", "models", "cli"]
FRAMEWORKS = ["fastapi", "starlette", "flask"]
SERVICES = ["--database", "sqlite", "--cache", "memory", "--auth", "--broker", "memory"]
# Installing, mypy and a suite of real module processes on a loaded 2-core machine.
SLOW = 900


def _run(
    args: list[str | Path], cwd: Path, timeout: float = SLOW
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
    )  # fmt: skip


def _ok(args: list[str | Path], cwd: Path, timeout: float = SLOW) -> str:
    out = _run(args, cwd, timeout)
    assert out.returncode == 0, f"{args} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def _uv() -> list[str]:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    return [found] if Path(found).exists() else [sys.executable, "-m", "uv"]


def _requirements(project: Path) -> list[str]:
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    return [*meta["dependencies"], *meta.get("optional-dependencies", {}).get("test", [])]


def fresh_venv(where: Path, projects: list[Path]) -> Path:
    """A new venv holding ``projects`` (editable, with their test extra); every pywatt
    requirement they declare resolves to this checkout, with the extras they declare."""
    extras: dict[str, set[str]] = {d: set() for d in DISTS}
    for project in projects:
        for req in _requirements(project):
            found = re.match(r"pywatt-(\w+)(?:\[([\w,]+)\])?==", req)
            if found:
                extras[found.group(1)] |= set(filter(None, (found.group(2) or "").split(",")))
    overrides = where / "overrides.txt"
    lines = []
    for dist, wanted in extras.items():
        tail = f"[{','.join(sorted(wanted))}]" if wanted else ""
        lines.append(f"pywatt-{dist}{tail} @ file://{ROOT}/pywatt-{dist}\n")
    overrides.write_text("".join(lines))
    venv = where / "venv"
    _ok([*_uv(), "venv", "-q", "--python", sys.executable, venv], where)
    editables = [arg for p in projects for arg in ("-e", f"{p}[test]")]
    _ok(
        [*_uv(), "pip", "install", "-q", "--python", venv / "bin" / "python",
         "--override", overrides, *editables],
        where,
    )  # fmt: skip
    return venv


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, method: str = "GET") -> tuple[int, object]:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "pywatt run exited before it was ready"
        try:
            if _get(url)[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} never answered 200 within {timeout} s")


def _declared_pywatt(project: Path) -> set[str]:
    return {
        re.split(r"[\[=]", req)[0] for req in _requirements(project) if req.startswith("pywatt-")
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One project per framework, all installed into one fresh venv (one install, one mypy
    cache: three venvs cost CI minutes and prove nothing more)."""
    where = tmp_path_factory.mktemp("modules")
    pywatt = Path(sys.executable).with_name("pywatt")
    projects = []
    for framework in FRAMEWORKS:
        name = f"svc-{framework}"
        _ok([pywatt, "new", "module", name, "--framework", framework, *SERVICES], where)
        projects.append(where / name)
    return where, fresh_venv(where, projects)


def test_generated_modules_declare_exactly_what_they_use(generated: tuple[Path, Path]) -> None:
    where, venv = generated
    for framework in FRAMEWORKS:
        assert _declared_pywatt(where / f"svc-{framework}") == {
            "pywatt-auth", "pywatt-cli", "pywatt-comm", "pywatt-core", "pywatt-data",
            "pywatt-server",
        }, framework  # fmt: skip
    # They install from this checkout, with nothing pywatt beyond what they declare.
    installed = {
        line.split("==")[0].split(" @ ")[0].strip().lower()
        for line in _ok(
            [*_uv(), "pip", "freeze", "--python", venv / "bin" / "python"], where
        ).split("\n")
        if line.startswith("pywatt")
    }
    assert installed == {"pywatt-auth", "pywatt-cli", "pywatt-comm", "pywatt-core",
                         "pywatt-data", "pywatt-server"}  # fmt: skip
    bin_ = venv / "bin"
    projects = [where / f"svc-{f}" for f in FRAMEWORKS]
    _ok([bin_ / "ruff", "check", *projects], where)
    _ok([bin_ / "ruff", "format", "--check", *projects], where)
    for project in projects:  # each against its own config, one shared cache
        assert "Success" in _ok([bin_ / "mypy", "."], project)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_generated_module_tests_and_runs(framework: str, generated: tuple[Path, Path]) -> None:
    where, venv = generated
    name = f"svc-{framework}"
    package = name.replace("-", "_")
    project = where / name
    bin_ = venv / "bin"

    tests = _ok([bin_ / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert re.search(r"\b7 passed\b", tests), tests

    shutil.copy(project / ".env.example", project / ".env")
    port = _free_port()
    stderr = (where / f"run-{framework}.stderr").open("wb")
    proc = subprocess.Popen(
        [bin_ / "pywatt", "run", f"{package}.py", "--secrets", ".env", "--port", str(port)],
        cwd=project, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}/{package}"
        _wait_ready(f"{base}/health", proc)
        assert _get(f"{base}/hello?name=ci") == (200, {"message": "Hello, ci!"})
        assert _get(f"{base}/visits", "POST") == (200, {"visits": 1})
        assert _get(f"{base}/me")[0] == 401
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        stderr.close()


def _junit(report: Path) -> dict[str, str | None]:
    """Test name -> its failure or error message and traceback (``None`` when it passed)."""
    out: dict[str, str | None] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is None:
            out[case.get("name", "?")] = None
        else:  # the message is the short form; the text holds the traceback
            out[case.get("name", "?")] = f"{problem.get('message', '')}\n{problem.text or ''}"
    return out


def test_generated_plugins_of_every_kind(tmp_path: Path) -> None:
    pywatt = Path(sys.executable).with_name("pywatt")
    projects = []
    for kind in KINDS:
        _ok([pywatt, "new", "plugin", f"acme-{kind}", "--kind", kind], tmp_path)
        projects.append(tmp_path / f"acme-{kind}")
    venv = fresh_venv(tmp_path, projects)
    bin_ = venv / "bin"

    _ok([bin_ / "ruff", "check", *projects], tmp_path)
    _ok([bin_ / "ruff", "format", "--check", *projects], tmp_path)
    sources = [p / sub for p in projects for sub in ("src", "tests")]
    assert "Success" in _ok([bin_ / "mypy", "--strict", *sources], tmp_path)

    listed = json.loads(_ok([bin_ / "pywatt", "plugins", "--json"], tmp_path))["plugins"]
    registered = {p["name"]: p["registered"] for p in listed}
    for kind in KINDS:
        assert f"acme_{kind}" in registered, f"pywatt plugins does not list acme_{kind}"
        assert f"acme-{kind}" in next(iter(registered[f"acme_{kind}"].values()))

    # The working ones work as plugins: through the registry and the pywatt command.
    assert "json: application/json" in _ok([bin_ / "pywatt", "acme-command"], tmp_path)
    for project, kind in zip(projects, KINDS, strict=True):
        report = tmp_path / f"{kind}.xml"
        result = _run(
            [bin_ / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
             f"--junitxml={report}"],
            project,
        )  # fmt: skip
        outcomes = _junit(report)
        assert outcomes, f"{kind}: no test ran\n{result.stdout}"
        if kind in ("encoder", "command"):
            assert result.returncode == 0, f"{kind}:\n{result.stdout}"
            continue
        # A skeleton: the kit runs and fails, each failure naming what to implement.
        assert result.returncode == 1, f"{kind}:\n{result.stdout}"
        failed = {name: msg for name, msg in outcomes.items() if msg is not None}
        assert failed, f"{kind}: the skeleton passed its kit"
        for test, message in failed.items():
            assert message is not None
            assert (
                f"is a skeleton: the {kind} must" in message
                or "return an app of the framework" in message
            ), f"{kind} {test}: {message[:3000]}"
