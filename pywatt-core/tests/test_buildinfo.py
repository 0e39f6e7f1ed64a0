from __future__ import annotations

import dataclasses
import json
import platform
import re
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path

import pytest

from pywatt.core.buildinfo import BuildInfo, build_info
from pywatt.core.errors import ConfigError

HERE = Path(__file__).resolve().parent
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch):
    monkeypatch.delenv("PYWATT_GIT_HASH", raising=False)
    monkeypatch.delenv("PYWATT_BUILD_TIME", raising=False)


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_values_from_a_git_checkout():
    info = build_info()
    assert info.version == metadata.version("pywatt-core")
    assert info.python_version == platform.python_version()
    assert re.fullmatch(r"[0-9a-f]{7,40}", info.git_hash)
    # Other commits may land meanwhile; the hash must still name a commit of this repo.
    assert git("cat-file", "-t", info.git_hash, cwd=HERE) == "commit"
    assert RFC3339.fullmatch(info.build_time)
    assert datetime.strptime(info.build_time, "%Y-%m-%dT%H:%M:%SZ").year >= 2024


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("PYWATT_GIT_HASH", "abc1234")
    monkeypatch.setenv("PYWATT_BUILD_TIME", "2026-01-02T03:04:05Z")
    info = build_info("pywatt-core")
    assert (info.git_hash, info.build_time) == ("abc1234", "2026-01-02T03:04:05Z")


def test_not_a_checkout_is_unknown(tmp_path):
    assert build_info(source_dir=tmp_path).git_hash == "unknown"
    assert build_info(source_dir=tmp_path / "missing").git_hash == "unknown"


def test_no_git_binary_is_unknown(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert build_info(source_dir=HERE / "..").git_hash == "unknown"


def test_cached_and_frozen():
    first = build_info()
    assert build_info() is first
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.version = "9"  # type: ignore[misc]
    assert first.as_dict() == {
        "version": first.version,
        "git_hash": first.git_hash,
        "build_time": first.build_time,
        "python_version": first.python_version,
    }
    assert isinstance(first, BuildInfo)


def test_unknown_package_is_a_config_error():
    with pytest.raises(ConfigError, match="no installed distribution named 'no-such-dist-x'"):
        build_info("no-such-dist-x")


def test_caller_dir_and_process_start_time(tmp_path):
    repo = tmp_path / "mod"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    script = repo / "main.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, sys
            from pywatt.core.buildinfo import build_info
            sys.stderr.write(json.dumps(build_info().as_dict()))
            """
        )
    )
    git("add", "main.py", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one", cwd=repo)
    expected = git("rev-parse", "--short", "HEAD", cwd=repo)
    before = time.time()
    # Run from another folder: the hash must come from the script's folder, not the cwd.
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    after = time.time()
    info = json.loads(proc.stderr)
    assert info["git_hash"] == expected
    assert proc.stdout == ""
    started = datetime.strptime(info["build_time"] + "+0000", "%Y-%m-%dT%H:%M:%SZ%z").timestamp()
    # Second resolution plus the kernel's boot-time rounding: allow two seconds either side.
    assert before - 2 <= started <= after + 2
