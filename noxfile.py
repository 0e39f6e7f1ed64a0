"""Every project task is a nox session: ``nox -l`` lists them, plain ``nox`` runs the test line."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False
nox.options.sessions = ["lint", "typecheck", "tests", "integration", "build", "docs"]

ROOT = Path(__file__).parent
DISTS = ["core", "comm", "data", "auth", "server", "models", "cli"]
TEST_DEPS = ["pytest>=8", "hypothesis>=6.100"]
# Extras each distribution's own tests need: its drivers, never another distribution.
TEST_EXTRAS = {
    "comm": "[nats,redis]",
    "data": "[postgres,mysql,redis,memcached]",
    "server": "[starlette,flask,metrics]",
    "models": "[postgres,mysql,yaml]",
    "auth": "[starlette,flask]",
}
# First-party distributions a distribution depends on, installed from their folders.
# Tests that run modules as subprocesses need the dev orchestrator, which ships in pywatt-cli
# (it depends on pywatt-data, which is not on an index either). pywatt-comm's resilience
# policies run the proxy backends' policy tests (test-only for data).
DEV_ORCHESTRATOR = ["./pywatt-data", "./pywatt-cli"]
TEST_LOCAL_DEPS: dict[str, list[str]] = {
    "models": DEV_ORCHESTRATOR,
    "comm": DEV_ORCHESTRATOR,
    "data": ["./pywatt-cli", "./pywatt-comm"],
    "auth": DEV_ORCHESTRATOR,
    "server": DEV_ORCHESTRATOR,
    "cli": ["./pywatt-data"],
}
TEST_EXTRA_DEPS: dict[str, list[str]] = {
    # msgpack only reads the reference renderings among the protocol vectors.
    "core": ["msgpack>=1.0.7"],
    # Certificates for the TLS channel tests are made at test time.
    "comm": ["trustme>=1.1"],
    "server": ["httpx>=0.27", "fastapi>=0.110"],
    # Real module processes serve the protected apps: pywatt-server is a test-only dependency.
    "auth": ["./pywatt-server[starlette,flask]", "httpx>=0.27", "fastapi>=0.110"],
    # The generated pyproject files are read with tomllib, which Python 3.10 lacks.
    # TLS tests of the dev orchestrator make certificates at test time.
    "cli": ["trustme>=1.1", 'tomli>=2; python_version < "3.11"'],
}
# Third-party plugins written from the plugin-author docs alone, one per contract; each runs its
# kit in `integration` and is type-checked against the contracts in `typecheck`.
DOCS_PLUGINS = [
    "pywatt-cbor",
    "pywatt-falcon",
    "pywatt-hmacauth",
    "pywatt-pgbroker",
    "pywatt-psycopg",
    "pywatt-sqlitecache",
]
ALL_INSTALL = [
    "./pywatt-core",
    "./pywatt-comm[nats,redis]",
    "./pywatt-data[postgres,mysql,redis,memcached]",
    "./pywatt-auth",
    "./pywatt-server[starlette,flask,metrics,otel]",
    "./pywatt-models[yaml]",
    "./pywatt-cli",
]


def _pytest(session: nox.Session, name: str, *args: str) -> None:
    """Run pytest; under CI=true a skipped test fails the session (a skip proves nothing)."""
    report = ROOT / ".nox" / f"junit-{name}.xml"
    session.run("pytest", f"--junitxml={report}", *args, *session.posargs)
    if os.environ.get("CI", "").lower() == "true":
        skipped = [
            f"{case.get('classname')}::{case.get('name')}: {skip.get('message')}"
            for case in ET.parse(report).getroot().iter("testcase")
            for skip in case.findall("skipped")
        ]
        if skipped:
            session.error("tests skipped under CI=true:\n  " + "\n  ".join(skipped))


@nox.session
@nox.parametrize("dist", DISTS)
def tests(session: nox.Session, dist: str) -> None:
    """Run one distribution's tests in a venv holding only it and its declared dependencies."""
    deps = ["./pywatt-core"] if dist != "core" else []
    deps += TEST_LOCAL_DEPS.get(dist, [])
    session.install(*deps, f"./pywatt-{dist}{TEST_EXTRAS.get(dist, '')}")
    session.install(*TEST_DEPS, *TEST_EXTRA_DEPS.get(dist, []))
    _pytest(session, dist, f"pywatt-{dist}/tests")


@nox.session
def integration(session: nox.Session) -> None:
    """Run tests-integration/ with every distribution and the third-party test plugins."""
    # uv makes the fresh venvs that test_scaffold.py installs generated projects into; the
    # OpenTelemetry SDK is a test dependency only: its in-memory exporter collects spans.
    session.install(
        *ALL_INSTALL, *TEST_DEPS, "httpx>=0.27", "fastapi>=0.110", "uv", "opentelemetry-sdk>=1.20"
    )
    session.install('tomli>=2; python_version < "3.11"')
    plugins = ROOT / "tests-integration" / "plugins"
    session.install(
        str(plugins / "pywatt-dummy"),
        str(plugins / "pywatt-broken"),
        str(plugins / "pywatt-apikey"),
        # The example third-party distribution the plugin-author docs show (its kit tests run).
        str(ROOT / "examples" / "plugin"),
        *(str(plugins / name) for name in DOCS_PLUGINS),
    )
    # The examples' own tests run here too: they need every distribution, like a user's.
    _pytest(session, "integration", "tests-integration", "examples")


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check every distribution's src with mypy --strict."""
    # pytest: imported by the test helpers and kits; fastapi: pywatt-auth's FastAPI dependency.
    session.install(*ALL_INSTALL, "mypy>=1.10", "pytest>=8", "httpx>=0.27", "fastapi>=0.110")
    srcs = [f"pywatt-{d}/src" for d in DISTS]
    session.run("mypy", *srcs, env={"MYPYPATH": os.pathsep.join(srcs)})
    # The example third-party plugin, checked against the contracts as its authors would.
    example = ["examples/plugin/src", "examples/plugin/tests"]
    session.run("mypy", *example, env={"MYPYPATH": os.pathsep.join([*srcs, example[0]])})
    # The plugins written from the docs, each with its kit tests, as their authors would.
    plugins = [f"tests-integration/plugins/{name}" for name in DOCS_PLUGINS]
    session.install(*plugins)
    for plugin in plugins:
        paths = [f"{plugin}/src", f"{plugin}/tests"]
        session.run("mypy", *paths, env={"MYPYPATH": os.pathsep.join([*srcs, paths[0]])})


@nox.session
def build(session: nox.Session) -> None:
    """Build wheels for all seven distributions and reject any that ships pywatt/__init__.py."""
    session.install("uv")
    out = ROOT / "dist"
    for dist in DISTS:
        session.run("uv", "build", "--wheel", "--out-dir", str(out), f"pywatt-{dist}")
    wheels = sorted(out.glob("pywatt_*-0.1.0-*.whl"))
    if len(wheels) != len(DISTS):
        session.error(f"expected {len(DISTS)} wheels, found {[w.name for w in wheels]}")
    for wheel in wheels:
        names = zipfile.ZipFile(wheel).namelist()
        if "pywatt/__init__.py" in names:
            session.error(f"{wheel.name} ships pywatt/__init__.py: the namespace must stay PEP 420")
        if not any(n.endswith("/py.typed") for n in names):
            session.error(f"{wheel.name} lacks py.typed")
    session.log(f"built {len(wheels)} namespace-clean wheels in {out}")
    # pywatt-core alone must pull only pluggy, pydantic (with its own deps) and anyio.
    resolved = session.run(
        "uv", "pip", "compile", "-q", "--no-header", "pywatt-core/pyproject.toml", silent=True
    )
    names = {
        line.split("==")[0].strip().lower()
        for line in str(resolved).splitlines()
        if "==" in line and not line.startswith("#")
    }
    allowed = {
        "pluggy", "pydantic", "pydantic-core", "annotated-types", "typing-extensions",
        "typing-inspection", "anyio", "idna", "sniffio", "exceptiongroup",
    }  # fmt: skip
    if not names or names - allowed:
        session.error(f"pywatt-core pulls unexpected dependencies: {sorted(names - allowed)}")
    session.log(f"pywatt-core resolves to: {', '.join(sorted(names))}")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with mkdocs --strict."""
    session.install("mkdocs>=1.6", "mkdocstrings[python]>=0.26")
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / ".nox" / "site"))


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks; each prints a ratio against a floor measured in the same run."""
    session.install(*ALL_INSTALL, "httpx>=0.27", "fastapi>=0.110")
    results = ROOT / ".nox" / "bench-results.jsonl"
    results.unlink(missing_ok=True)
    env = {"PYWATT_BENCH_RESULTS": str(results)}
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs, env=env)
    # One combined table on stdout, and the same table filed in docs/benchmarks.md.
    report = ROOT / "benchmarks" / "report.py"
    session.run(
        "python", str(report), str(results), "--write", str(ROOT / "docs" / "benchmarks.md")
    )


@nox.session
def demo(session: nox.Session) -> None:
    """Install everything and run examples/hello behind `pywatt run` until Ctrl-C."""
    session.install(*ALL_INSTALL, "fastapi>=0.110")
    session.log("once ready, try: curl 'http://127.0.0.1:9900/hello/hello?name=you'")
    session.run(
        "pywatt",
        "run",
        "examples/hello/hello.py",
        "--secrets",
        "examples/hello/.env",
        *session.posargs,
        # Ctrl-C reaches pywatt run too: give it time to stop the module gracefully.
        interrupt_timeout=15,
        terminate_timeout=5,
    )
