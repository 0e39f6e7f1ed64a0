"""``pywatt completion``: the scripts, and what they complete (through click and through bash)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner

from pywatt.cli import cli
from pywatt.core.plugins import reset_plugins


@pytest.fixture(autouse=True)
def _fresh_plugins():
    reset_plugins()
    yield
    reset_plugins()


def _complete(args: list[str], incomplete: str) -> list[str]:
    completer = ShellComplete(cli, {}, "pywatt", "_PYWATT_COMPLETE")
    return [item.value for item in completer.get_completions(args, incomplete)]


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "_PYWATT_COMPLETE=bash_complete"),
        ("zsh", "#compdef pywatt"),
        ("fish", "_PYWATT_COMPLETE=fish_complete"),
    ],
)
def test_each_shell_gets_its_script(shell: str, marker: str) -> None:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert marker in result.output


def test_an_unknown_shell_is_refused() -> None:
    result = CliRunner().invoke(cli, ["completion", "tcsh"])
    assert result.exit_code == 2
    assert "'bash', 'zsh', 'fish'" in result.output


def test_commands_complete_plugin_commands_included() -> None:
    assert {"completion", "doctor", "new", "plugins", "run"} <= set(_complete([], ""))
    assert _complete([], "doc") == ["doctor"]


def test_run_offers_python_files_and_folders_only(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "app.py").write_text("")
    (tmp_path / "api.py").write_text("")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "billing.py").write_text("")
    monkeypatch.chdir(tmp_path)
    assert _complete(["run"], "") == ["api.py", "app.py", "apps/"]
    assert _complete(["run"], "app") == ["app.py", "apps/"]
    assert _complete(["run"], "apps/") == ["apps/billing.py"]
    assert _complete(["run", "app.py"], "apps/b") == ["apps/billing.py"]
    assert _complete(["doctor", "--module"], "ap") == ["api.py", "app.py", "apps/"]


def test_plugins_completes_plugin_names() -> None:
    assert {"cli", "core"} <= set(_complete(["plugins"], ""))
    assert _complete(["plugins"], "cl") == ["cli"]


def test_new_completes_frameworks_and_kinds() -> None:
    assert _complete(["new", "module", "x", "--framework"], "") == ["fastapi", "starlette", "flask"]
    assert "encoder" in _complete(["new", "plugin", "x", "--kind"], "")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_through_the_installed_script(tmp_path: Path) -> None:
    pywatt = Path(sys.executable).with_name("pywatt")
    (tmp_path / "hello.py").write_text("")
    (tmp_path / "readme.md").write_text("")
    script = (
        f'eval "$({pywatt} completion bash)"; '
        f"COMP_WORDS=(pywatt run he); COMP_CWORD=2; _pywatt_completion {pywatt}; "
        'echo "${COMPREPLY[@]}"; '
        f"COMPREPLY=(); COMP_WORDS=(pywatt doc); COMP_CWORD=1; _pywatt_completion {pywatt}; "
        'echo "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{pywatt.parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    assert out.stdout.splitlines() == ["hello.py", "doctor"]
