"""Discovery of real installed third-party plugins, through the ``pywatt`` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PYWATT = shutil.which("pywatt", path=str(Path(sys.executable).parent)) or shutil.which("pywatt")


def run_pywatt(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    assert PYWATT, "pywatt-cli is not installed in this environment"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PYWATT_")}
    full_env.update(env)
    return subprocess.run([PYWATT, *args], capture_output=True, text=True, env=full_env, timeout=60)


def plugins_json(**env: str) -> dict[str, dict]:
    result = run_pywatt("plugins", "--json", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)["plugins"]}


def test_broken_plugin_is_listed_with_its_cause_and_fix_beside_the_others():
    result = run_pywatt("plugins", "--json")
    assert result.returncode == 1
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    broken = plugins["broken"]
    assert "'broken'" in broken["error"]
    assert "pywatt-broken 0.0.1" in broken["error"]
    assert "RuntimeError: pywatt-broken refuses to import" in broken["error"]
    assert broken["fix"] == "PYWATT_DISABLED_PLUGINS=broken"
    # Every healthy plugin is still listed with what it registered.
    assert {"core", "cli", "dummy"} <= plugins.keys()
    assert "error" not in plugins["dummy"]
    text = run_pywatt("plugins")
    assert text.returncode == 1
    assert "fix: PYWATT_DISABLED_PLUGINS=broken" in text.stdout


def test_disabled_plugins_skips_the_broken_one():
    plugins = plugins_json(PYWATT_DISABLED_PLUGINS="broken")
    assert "broken" not in plugins
    dummy = plugins["dummy"]
    assert dummy["distribution"] == "pywatt-dummy"
    assert dummy["version"] == "1.2.3"
    assert dummy["registered"] == {"command": ["dummy-hello"], "encoder": ["rot13"]}
    for first_party in ("core", "comm", "data", "auth", "server", "models", "cli"):
        assert plugins[first_party]["distribution"] == f"pywatt-{first_party}"


def test_allow_list_loads_only_named_plugins():
    plugins = plugins_json(PYWATT_LOAD_PLUGINS="core,dummy")
    assert sorted(plugins) == ["core", "dummy"]


def test_third_party_command_runs():
    result = run_pywatt("dummy-hello", "ada", PYWATT_DISABLED_PLUGINS="broken")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello ada from pywatt-dummy\n"


def test_third_party_encoder_is_usable(monkeypatch: pytest.MonkeyPatch):
    from pywatt.core.plugins import get_plugins, reset_plugins

    monkeypatch.setenv("PYWATT_DISABLED_PLUGINS", "broken")
    reset_plugins()
    try:
        enc = get_plugins().encoders.get("rot13")
        assert enc.encode("hello") == b"uryyb"
        assert enc.decode(b"uryyb") == "hello"
    finally:
        reset_plugins()


def test_trace_flag_logs_hook_calls():
    result = run_pywatt("plugins", PYWATT_DISABLED_PLUGINS="broken", PYWATT_TRACE_PLUGINS="1")
    assert result.returncode == 0
    assert "registered encoder 'rot13'" in result.stderr


def test_a_broken_plugin_costs_only_its_own_components():
    # Healthy plugins' commands run and --help names the broken plugin and its fix.
    result = run_pywatt("run", "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    helped = run_pywatt("--help")
    assert helped.returncode == 0
    assert "broken: pywatt plugin 'broken' from distribution pywatt-broken 0.0.1" in helped.stdout
    assert "PYWATT_DISABLED_PLUGINS=broken" in helped.stdout
    assert run_pywatt("dummy-hello", "ada").returncode == 0
    # And a component of a healthy plugin works in a program.
    code = "from pywatt.data import open_cache; print(type(open_cache('memory://')).__name__)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWATT_")}
    used = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert used.returncode == 0, used.stderr
    assert used.stdout.strip().endswith("Cache")


def test_plugins_shows_what_pywatt_models_registers():
    models = plugins_json(PYWATT_DISABLED_PLUGINS="broken")["models"]
    assert models["registered"] == {
        "command": ["models"],
        "model dialect": ["sqlite", "postgresql", "mysql"],
    }
    text = run_pywatt("plugins", PYWATT_DISABLED_PLUGINS="broken").stdout
    assert "models (pywatt-models 0.1.0)\n    command: models\n" in text
    assert "    model dialect: sqlite, postgresql, mysql\n" in text


def test_pywatt_models_sql_runs_from_the_pywatt_command(tmp_path: Path):
    schema = tmp_path / "schema.yaml"
    schema.write_text(
        "models:\n"
        "  - name: pets\n"
        "    columns:\n"
        "      - {name: id, type: integer, primary_key: true, autoincrement: true}\n"
        "      - {name: kind, type: enum, enum_values: [cat, dog], default: cat}\n"
        "    engine: InnoDB\n"
    )
    result = run_pywatt(
        "models", "sql", str(schema), "--dialect", "mariadb", PYWATT_DISABLED_PLUGINS="broken"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "CREATE TABLE pets (\n"
        "\tid INTEGER NOT NULL AUTO_INCREMENT, \n"
        "\tkind ENUM('cat','dog') DEFAULT 'cat', \n"
        "\tCONSTRAINT pk_pets PRIMARY KEY (id)\n"
        ")ENGINE=InnoDB;\n"
    )


def test_discovering_plugins_imports_no_component_module():
    # Every first-party plugin registers lazily: discovery alone, with everything installed,
    # loads no web framework, no SQLAlchemy, no JOSE library and not the CLI.
    code = (
        "import sys; from pywatt.core.plugins import get_plugins; get_plugins(); "
        "heavy = ('sqlalchemy', 'alembic', 'starlette', 'flask', 'joserfc', 'click', "
        "'pywatt.comm.channel', 'pywatt.cli.main', 'pywatt.server.adapters'); "
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWATT_")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
