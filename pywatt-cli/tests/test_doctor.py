"""``pywatt doctor`` with what pywatt-cli's own tests have: core, cli, and files they write.

The broken plugin, an unreachable Redis and a generated module are in
tests-integration/test_doctor.py, where those are installed.
"""

from __future__ import annotations

import importlib.metadata as md
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pywatt.cli import cli
from pywatt.cli.doctor import check_distributions, redact_url
from pywatt.core.plugins import reset_plugins


@pytest.fixture(autouse=True)
def _fresh_plugins():
    reset_plugins()
    yield
    reset_plugins()


def _dist(root: Path, name: str, version: str, *requires: str) -> md.Distribution:
    """A real installed-distribution record (a ``.dist-info`` folder), as pip writes one."""
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    return md.PathDistribution(info)


def test_a_healthy_install_exits_0_and_lists_its_distributions() -> None:
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    checks = {(c["section"], c["name"]): c for c in report["checks"]}
    assert checks[("distributions", "pywatt-core")]["detail"] == md.version("pywatt-core")
    assert checks[("distributions", "pywatt-cli")]["status"] == "ok"
    assert checks[("plugins", "core")]["detail"].endswith("encoder: json")
    assert checks[("python", "python")]["status"] == "ok"
    text = CliRunner().invoke(cli, ["doctor"])
    assert text.exit_code == 0
    assert text.output.splitlines()[-1] == "0 problem(s), 0 warning(s)"


def test_mismatched_and_missing_pins_are_reported_with_their_fix(tmp_path: Path) -> None:
    dists = [
        _dist(tmp_path, "pywatt-core", "0.2.0"),
        _dist(
            tmp_path,
            "pywatt-data",
            "0.1.0",
            "pywatt-core==0.1.0",
            "sqlalchemy>=2",
            'pywatt-comm==0.1.0; extra == "broker"',  # an extra not asked for: not checked
        ),
        _dist(tmp_path, "pywatt-auth", "0.1.0", "pywatt-core==0.1.0", "pywatt-server==0.1.0"),
        _dist(tmp_path, "pywatt-models", "0.2.0", "pywatt-core==0.2.0"),
    ]
    checks = {c.name: c for c in check_distributions(dists)}
    assert checks["pywatt-core"].status == "ok"
    assert checks["pywatt-models"].status == "ok"
    data = checks["pywatt-data"]
    assert data.status == "fail"
    assert data.detail == "0.1.0: needs pywatt-core==0.1.0, but 0.2.0 is installed"
    assert data.fix == "pip install 'pywatt-core==0.1.0'"
    auth = checks["pywatt-auth"]
    assert auth.detail == (
        "0.1.0: needs pywatt-core==0.1.0, but 0.2.0 is installed; "
        "needs pywatt-server==0.1.0, which is not installed"
    )


MODULE = """
from __future__ import annotations

from pywatt.core import AppState, pywatt_module


class App:
    pass


@pywatt_module(secrets={"API_KEY": None, "DB_URL": None, "GREETING": "Hello"})
def create_app(state: AppState[object]) -> App:
    return App()


if __name__ == "__main__":
    raise SystemExit("the doctor must not run the module")
"""


def test_a_module_missing_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text(MODULE)
    env = tmp_path / ".env"
    env.write_text("DB_URL=sqlite:///x.db\n")
    result = CliRunner().invoke(
        cli, ["doctor", "--json", "--module", str(path), "--secrets", str(env)]
    )
    assert result.exit_code == 1, result.output
    checks = {c["name"]: c for c in json.loads(result.output)["checks"] if "module" in c["section"]}
    assert checks["import"]["status"] == "ok"
    assert checks["secret API_KEY"]["status"] == "fail"
    assert checks["secret API_KEY"]["fix"] == "add API_KEY=... to the secrets file"
    assert checks["secret DB_URL"] == {
        "section": f"module {path}",
        "name": "secret DB_URL",
        "status": "ok",
        "detail": "known",
    }
    assert checks["secret GREETING"]["status"] == "warn"
    assert "default 'Hello'" in checks["secret GREETING"]["detail"]
    # No installed adapter serves a plain class: said before the module is ever started.
    assert checks["adapter"]["status"] == "fail"
    assert "no server adapter serves" in checks["adapter"]["detail"]
    assert "App" in checks["adapter"]["detail"]


def test_env_values_count_as_secrets(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text(MODULE)
    result = CliRunner().invoke(
        cli, ["doctor", "--module", str(path), "--env", "API_KEY=k", "--env", "DB_URL=u"]
    )
    assert "ok   secret API_KEY: known" in result.output
    assert "FAIL secret" not in result.output


def test_a_module_that_fails_to_import(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text("import no_such_module_anywhere\n")
    result = CliRunner().invoke(cli, ["doctor", "--module", str(path)])
    assert result.exit_code == 1
    assert (
        "FAIL import: ModuleNotFoundError: No module named 'no_such_module_anywhere'"
        in result.output
    )


def test_urls_lose_their_password_in_reports() -> None:
    assert redact_url("postgresql://app:s3cret@db:5432/x") == "postgresql://app:***@db:5432/x"
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
