"""``pywatt doctor`` on this session's install: the broken dummy plugin, a generated module
missing a secret, real services reachable and not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PYWATT = str(Path(sys.executable).with_name("pywatt"))
if not Path(PYWATT).exists():
    PYWATT = shutil.which("pywatt") or "pywatt"


Checks = dict[tuple[str, str], dict]


def doctor(*args: str, cwd: Path | None = None, **env: str) -> tuple[int, Checks]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PYWATT_")}
    full_env.update(env)
    out = subprocess.run(
        [PYWATT, "doctor", "--json", *args], capture_output=True, text=True, env=full_env,
        timeout=120, cwd=cwd,
    )  # fmt: skip
    report = json.loads(out.stdout)
    assert report["ok"] is (out.returncode == 0)
    return out.returncode, {(c["section"], c["name"]): c for c in report["checks"]}


def _failed(checks: Checks) -> list[tuple[str, str]]:
    return sorted(key for key, check in checks.items() if check["status"] == "fail")


def test_healthy_with_the_broken_plugin_disabled() -> None:
    status, checks = doctor(PYWATT_DISABLED_PLUGINS="broken")
    assert (status, _failed(checks)) == (0, [])
    assert checks[("plugins", "dummy")]["status"] == "ok"
    for dist in ("core", "comm", "data", "auth", "server", "models", "cli"):
        assert checks[("distributions", f"pywatt-{dist}")]["detail"] == "0.1.0"


def test_the_broken_plugin_is_the_one_problem_with_its_fix() -> None:
    status, checks = doctor()
    assert (status, _failed(checks)) == (1, [("plugins", "broken")])
    broken = checks[("plugins", "broken")]
    assert "pywatt-broken 0.0.1" in broken["detail"]
    assert "RuntimeError: pywatt-broken refuses to import" in broken["detail"]
    assert broken["fix"] == "PYWATT_DISABLED_PLUGINS=broken"


def test_a_generated_module_missing_a_secret(tmp_path: Path) -> None:
    subprocess.run(
        [PYWATT, "new", "module", "shop", "--database", "sqlite", "--cache", "memory"],
        cwd=tmp_path, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    project = tmp_path / "shop"
    env_file = project / ".env"
    example = (project / ".env.example").read_text()
    env_file.write_text(example.replace("CACHE_URL=memory://\n", ""))
    status, checks = doctor(
        "--module", "shop.py", "--secrets", ".env", cwd=project,
        PYWATT_DISABLED_PLUGINS="broken",
    )  # fmt: skip
    section = "module shop.py"
    assert (status, _failed(checks)) == (1, [(section, "secret CACHE_URL")])
    assert checks[(section, "secret CACHE_URL")]["fix"] == "add CACHE_URL=... to the secrets file"
    assert checks[(section, "secret DATABASE_URL")]["status"] == "ok"
    assert checks[(section, "secret SHOP_GREETING")]["status"] == "ok"
    assert checks[(section, "adapter")] == {
        "section": section,
        "name": "adapter",
        "status": "ok",
        "detail": "starlette serves fastapi.applications.FastAPI",
    }
    # With the secret back, nothing is left to report.
    env_file.write_text(example)
    status, checks = doctor(
        "--module", "shop.py", "--secrets", ".env", cwd=project,
        PYWATT_DISABLED_PLUGINS="broken",
    )  # fmt: skip
    assert (status, _failed(checks)) == (0, [])


@pytest.mark.parametrize(
    ("option", "url"),
    [
        ("--cache", "redis://127.0.0.1:6379/0"),
        ("--broker", "redis://127.0.0.1:6379/0"),
        ("--database", "postgresql://postgres@127.0.0.1:5432/test"),
        ("--cache", "memory://"),
    ],
)
def test_a_reachable_service(option: str, url: str) -> None:
    status, checks = doctor(option, url, PYWATT_DISABLED_PLUGINS="broken")
    kind = option.removeprefix("--")
    assert (status, checks[("services", f"{kind} {url}")]["status"]) == (0, "ok")


def test_an_unreachable_redis_is_the_one_problem() -> None:
    # Port 1 refuses connections at once: nothing listens there.
    status, checks = doctor(
        "--cache", "redis://127.0.0.1:1/0",
        "--cache", "redis://127.0.0.1:6379/0",
        "--broker", "redis://:hunter2@127.0.0.1:1/0",
        "--timeout", "20",
        PYWATT_DISABLED_PLUGINS="broken",
    )  # fmt: skip
    assert status == 1
    assert _failed(checks) == [
        ("services", "broker redis://:***@127.0.0.1:1/0"),
        ("services", "cache redis://127.0.0.1:1/0"),
    ]
    cache = checks[("services", "cache redis://127.0.0.1:1/0")]
    assert cache["detail"].startswith("unreachable:")
    broker = checks[("services", "broker redis://:***@127.0.0.1:1/0")]
    assert broker["detail"].startswith(("unreachable:", "no answer within"))
    assert "hunter2" not in json.dumps(list(checks.values()))
