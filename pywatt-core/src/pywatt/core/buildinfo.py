"""What build of a module is running, for announce payloads, health endpoints and logs.

A packaged module is told its git hash and build time through ``PYWATT_GIT_HASH`` and
``PYWATT_BUILD_TIME``; a module run from a checkout asks git, and reports the process start time.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from pywatt.core.errors import ConfigError

__all__ = ["BuildInfo", "build_info"]

UNKNOWN = "unknown"
_GIT_TIMEOUT = 2.0


@dataclasses.dataclass(frozen=True)
class BuildInfo:
    """Version, git hash, build time (RFC 3339) and Python version of a running module."""

    version: str
    git_hash: str
    build_time: str
    python_version: str

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _process_start_epoch() -> float:
    """When this process started; Linux knows exactly, elsewhere the first call stands in."""
    try:
        stat = Path("/proc/self/stat").read_text()
        # Field 22 (starttime, in clock ticks since boot) follows the parenthesised command name,
        # which may itself contain spaces.
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return int(line.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return _FIRST_CALL


_FIRST_CALL = time.time()


def _git_hash(directory: str) -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=directory,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    value = result.stdout.strip()
    return value if result.returncode == 0 and value else UNKNOWN


@functools.lru_cache(maxsize=32)
def _build_info(
    package: str, directory: str, env_hash: str | None, env_time: str | None
) -> BuildInfo:
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        raise ConfigError(f"no installed distribution named {package!r}") from None
    return BuildInfo(
        version=version,
        git_hash=env_hash or _git_hash(directory),
        build_time=env_time or _rfc3339(_process_start_epoch()),
        python_version=platform.python_version(),
    )


def build_info(
    package: str = "pywatt-core", *, source_dir: str | os.PathLike[str] | None = None
) -> BuildInfo:
    """The build of ``package``; git is asked in ``source_dir``, by default the caller's folder.

    Results are cached per package, folder and environment override.
    """
    if source_dir is None:
        caller = Path(sys._getframe(1).f_code.co_filename)
        source_dir = caller.resolve().parent if caller.is_file() else Path.cwd()
    return _build_info(
        package,
        os.fspath(source_dir),
        os.environ.get("PYWATT_GIT_HASH") or None,
        os.environ.get("PYWATT_BUILD_TIME") or None,
    )
