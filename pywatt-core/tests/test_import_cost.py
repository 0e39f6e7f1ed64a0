"""What ``import pywatt.core`` loads: no plugin discovery, no other distribution, no dev tools.

Speed is measured by ``benchmarks/bench_import.py``; these tests pin the behaviour that keeps
it cheap, each in a fresh interpreter so nothing a previous test imported hides a regression.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys

import pytest

# importlib.metadata is plugin discovery's (email, zipfile, csv ...); the rest are other
# distributions or developer tools, which a running module never needs.
FORBIDDEN = (
    "importlib.metadata",
    "pywatt.data",
    "pywatt.server",
    "pywatt.cli",
    "pywatt.comm",
    "httpx",
    "pytest",
)


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    return list(json.loads(out.splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import pywatt.core",
        "from pywatt.core import hookimpl, pywatt_module, PyWattModule, ServeOptions",
        "from pywatt.core import ConfigError, AppState, SecretTimeoutError",
    ],
)
def test_importing_the_module_api_loads_no_discovery_and_no_other_distribution(code):
    loaded = _loaded_after(code)
    found = [m for m in loaded if m in FORBIDDEN or m.startswith(tuple(f"{f}." for f in FORBIDDEN))]
    assert found == []


def test_the_wire_codec_loads_no_other_distribution():
    # Building its pydantic models runs pydantic's own plugin discovery (importlib.metadata),
    # which is pydantic's to decide; nothing of ours may come with it.
    loaded = _loaded_after("from pywatt.core.protocol import decode_m2o, encode")
    others = [f for f in FORBIDDEN if f != "importlib.metadata"]
    assert [m for m in loaded if m in others or m.startswith(tuple(f"{f}." for f in others))] == []


def test_bare_import_loads_only_the_package_itself():
    pywatt_modules = [m for m in _loaded_after("import pywatt.core") if m.startswith("pywatt")]
    assert pywatt_modules == ["pywatt", "pywatt.core", "pywatt.core.exports"]


def test_plugins_are_discovered_on_first_use_only():
    loaded = _loaded_after("from pywatt.core import get_plugins\nget_plugins()")
    assert "importlib.metadata" in loaded


def test_pywatt_core_adds_no_pytest_plugin():
    groups = {ep.group for ep in importlib.metadata.distribution("pywatt-core").entry_points}
    assert "pytest11" not in groups
    assert groups == {"pywatt"}


OTHER_DISTRIBUTIONS = (["pywatt", "data"], ["pywatt", "server"], ["pywatt", "cli"])


def test_no_core_source_imports_another_distribution():
    import ast
    from pathlib import Path

    import pywatt.core

    found = []
    for path in Path(pywatt.core.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found += [
                f"{path.name}: {name}"
                for name in names
                if name.split(".")[:2]
                in (["pywatt", "data"], ["pywatt", "server"], ["pywatt", "cli"])
            ]
    assert found == []


def test_discovery_and_a_module_without_a_broker_load_no_broker_code():
    # A module that neither subscribes nor has PYWATT_BROKER_URL never needs the broker
    # contract or the messaging runtime: start-up (benchmarks/bench_startup.py) skips both.
    code = (
        "import anyio, types\n"
        "from pywatt.core.config import AppConfig\n"
        "from pywatt.core.module import PyWattModule, _connect_broker\n"
        "from pywatt.core.plugins import get_plugins\n"
        "plugins = get_plugins()\n"
        "ctx = types.SimpleNamespace(config=AppConfig(module_id='m'))\n"
        "assert anyio.run(_connect_broker, PyWattModule(None), ctx, plugins, None) is None\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWATT_")}
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, env=env
    ).stdout
    loaded = json.loads(out.splitlines()[-1])
    assert [m for m in loaded if m in ("pywatt.core.brokers", "pywatt.core.messaging")] == []
