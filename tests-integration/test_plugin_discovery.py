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


def test_broken_plugin_error_names_it_its_distribution_and_cause():
    result = run_pywatt("plugins")
    assert result.returncode == 1
    err = result.stderr
    assert "'broken'" in err
    assert "pywatt-broken 0.0.1" in err
    assert "RuntimeError: pywatt-broken refuses to import" in err


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


def test_broken_plugin_is_reported_when_a_plugin_command_is_run():
    result = run_pywatt("run", "--help")
    assert result.returncode == 1
    assert "pywatt-broken 0.0.1" in result.stderr
    assert "PYWATT_DISABLED_PLUGINS" in result.stderr
    assert "No such command" not in result.stderr


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
