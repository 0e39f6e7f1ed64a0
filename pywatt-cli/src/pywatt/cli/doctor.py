"""``pywatt doctor``: what is installed, what is broken, and whether a module can start.

Each check is ``ok``, ``warn`` (worth knowing, not a failure) or ``fail``; any ``fail`` makes
the exit status 1. ``--json`` prints the same checks for scripts.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import json
import platform
import sys
import typing
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import anyio
import click

from pywatt.cli.completion import complete_module_files
from pywatt.cli.run import RunPlan, parse_env

__all__ = [
    "Check",
    "check_distributions",
    "check_module",
    "check_plugins",
    "check_service",
    "doctor_command",
]

Status = Literal["ok", "warn", "fail"]
ServiceKind = Literal["database", "cache", "broker"]


@dataclass(frozen=True)
class Check:
    """One finding: its section, what was checked, the outcome, and how to fix a problem."""

    section: str
    name: str
    status: Status
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _pywatt_distributions() -> list[md.Distribution]:
    found: dict[str, md.Distribution] = {}
    for dist in md.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("pywatt-") and name not in found:
            found[name] = dist
    return [found[name] for name in sorted(found)]


def check_distributions(dists: Iterable[md.Distribution] | None = None) -> list[Check]:
    """Each installed ``pywatt-*`` distribution's version, and every pin between them.

    Only pins on other ``pywatt-*`` distributions are checked (pip checks the rest); extras a
    requirement is conditional on are skipped unless installed, as pip would.
    """
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    dists = list(_pywatt_distributions() if dists is None else dists)
    versions = {canonicalize_name(d.metadata["Name"]): d.version for d in dists}
    checks: list[Check] = []
    for dist in dists:
        name = canonicalize_name(dist.metadata["Name"])
        problems: list[str] = []
        fixes: list[str] = []
        for text in dist.requires or []:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            dep = canonicalize_name(req.name)
            if not dep.startswith("pywatt-"):
                continue
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue  # an extra's requirement: only when that extra was asked for
            installed = versions.get(dep)
            if installed is None:
                problems.append(f"needs {req}, which is not installed")
                fixes.append(f"pip install '{req}'")
            elif not req.specifier.contains(installed, prereleases=True):
                problems.append(f"needs {req.name}{req.specifier}, but {installed} is installed")
                fixes.append(f"pip install '{req.name}{req.specifier}'")
        if problems:
            checks.append(
                Check(
                    "distributions",
                    name,
                    "fail",
                    f"{dist.version}: " + "; ".join(problems),
                    " && ".join(fixes),
                )
            )
        else:
            checks.append(Check("distributions", name, "ok", dist.version))
    if not dists:
        checks.append(Check("distributions", "pywatt", "fail", "no pywatt-* distribution found"))
    return checks


def check_plugins() -> list[Check]:
    """Every plugin and what it registered; a broken one with its error and fix."""
    from pywatt.core.plugins import get_plugins

    checks: list[Check] = []
    for info in get_plugins().plugins():
        origin = f"{info.distribution} {info.version}" if info.distribution else info.module
        if info.error is not None:
            checks.append(Check("plugins", info.name, "fail", f"{origin}: {info.error}", info.fix))
            continue
        what = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in info.registered.items())
        checks.append(Check("plugins", info.name, "ok", f"{origin}: {what or 'registers nothing'}"))
    return checks


def _import_file(path: Path) -> Any:
    """Import ``path`` as a fresh module (its ``__main__`` block does not run)."""
    name = f"_pywatt_doctor_{path.stem}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # A module imports its siblings, as it does when run as `python path/to/module.py`.
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent.resolve()))
    return module


def _adapter_for(factory: Callable[..., Any]) -> tuple[Status, str]:
    """The adapter serving what ``factory`` is annotated to return, without building the app."""
    from pywatt.core.errors import PyWattError
    from pywatt.core.plugins import get_plugins
    from pywatt.core.serving import choose_adapter

    try:
        returned = typing.get_type_hints(factory).get("return")
    except Exception as exc:
        return "warn", f"cannot read {factory.__name__}'s return annotation: {exc}"
    if not isinstance(returned, type):
        return "warn", (
            f"{factory.__name__} has no return annotation naming its app class, so the adapter "
            "is chosen only when the app is built"
        )
    # An instance that was never initialised: adapters only look at its class.
    app_class: Any = returned
    probe = app_class.__new__(app_class)
    label = f"{returned.__module__}.{returned.__qualname__}"
    try:
        adapter = choose_adapter(get_plugins().server_adapters, probe)
    except PyWattError as exc:
        return "fail", str(exc)
    return "ok", f"{getattr(adapter, 'name', type(adapter).__name__)} serves {label}"


def check_module(path: Path, env: dict[str, str], secrets_file: Path | None) -> list[Check]:
    """Whether ``path`` imports, which secrets it needs and whether they are known, and which
    adapter serves its app."""
    from pywatt.cli.run import _secret_source
    from pywatt.core.module import PyWattModule

    section = f"module {path}"
    try:
        module = _import_file(path)
    except BaseException as exc:  # a module may sys.exit() or raise anything at import
        return [Check(section, "import", "fail", f"{type(exc).__name__}: {exc}")]
    found = [(n, v) for n, v in vars(module).items() if isinstance(v, PyWattModule)]
    if not found:
        return [
            Check(section, "import", "ok", "imports"),
            Check(section, "module", "warn", "no @pywatt_module object found: nothing to check"),
        ]
    checks = [Check(section, "import", "ok", f"imports; module object {found[0][0]!r}")]
    definition = found[0][1]
    try:
        source = _secret_source(RunPlan(targets=[], env=env, secrets_file=secrets_file))
    except OSError as exc:
        source = None
        checks.append(Check(section, "secrets file", "fail", str(exc)))
    where = "--env or --secrets" if secrets_file is not None or env else "(no --secrets given)"
    for name, default in sorted(definition.secret_defaults.items()):
        if source is not None and name in source:
            checks.append(Check(section, f"secret {name}", "ok", "known"))
        elif default is not None:
            checks.append(
                Check(section, f"secret {name}", "warn", f"not in {where}; default {default!r}")
            )
        else:
            checks.append(
                Check(
                    section,
                    f"secret {name}",
                    "fail",
                    f"required, and not in {where}: the module would not start",
                    f"add {name}=... to the secrets file",
                )
            )
    if definition.app_factory is not None:
        status, detail = _adapter_for(definition.app_factory)
        checks.append(Check(section, "adapter", status, detail))
    return checks


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, for reports."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


Attempt = Callable[[], Awaitable[None]]


def _prober(kind: ServiceKind) -> Callable[[str], Attempt]:
    """The check for ``kind``: build the client from a URL (importing its driver, before the
    clock of ``--timeout`` starts), then connect and make one trivial call, raising on failure.
    """
    if kind == "database":
        from pywatt.data import open_database

        def database(url: str) -> Attempt:
            db = open_database(url)

            async def attempt() -> None:
                try:
                    await db.connect()
                    if not await db.ping():
                        raise ConnectionError("the database did not answer a ping")
                finally:
                    await db.close()

            return attempt

        return database
    if kind == "cache":
        from pywatt.data import open_cache

        def cache(url: str) -> Attempt:
            store = open_cache(url)

            async def attempt() -> None:
                try:
                    if not await store.ping():
                        raise ConnectionError("the cache did not answer a ping")
                finally:
                    await store.close()

            return attempt

        return cache
    from pywatt.core.brokers import broker_for_url

    def broker(url: str) -> Attempt:
        client = broker_for_url(url)

        async def attempt() -> None:
            try:
                await client.connect()
            finally:
                await client.aclose()

        return attempt

    return broker


_NEEDS = {"database": "pywatt-data", "cache": "pywatt-data", "broker": "pywatt-comm"}


def check_service(kind: ServiceKind, url: str, timeout: float) -> Check:
    """Whether the service at ``url`` answers within ``timeout`` seconds."""
    shown = redact_url(url)

    name = f"{kind} {shown}"
    try:
        attempt = _prober(kind)(url)
    except ModuleNotFoundError as exc:
        fix = f"pip install {_NEEDS[kind]}"
        return Check("services", name, "fail", f"cannot check: {exc}", fix)
    except Exception as exc:  # a URL its backend refuses
        detail = f"{type(exc).__name__}: {_redact_in(str(exc), url)}"
        return Check("services", name, "fail", detail)

    async def probe() -> None:
        with anyio.fail_after(timeout):
            await attempt()

    try:
        anyio.run(probe)
    except TimeoutError:
        return Check("services", name, "fail", f"no answer within {timeout:g} s")
    except Exception as exc:
        return Check("services", name, "fail", f"unreachable: {_redact_in(str(exc), url)}")
    return Check("services", name, "ok", "reachable")


def _redact_in(text: str, url: str) -> str:
    parts = urlsplit(url)
    return text if not parts.password else text.replace(parts.password, "***")


def run_checks(
    module: Path | None,
    env: dict[str, str],
    secrets_file: Path | None,
    services: Sequence[tuple[ServiceKind, str]],
    timeout: float,
) -> list[Check]:
    checks = [
        Check("python", "python", "ok", f"{platform.python_version()} ({sys.executable})"),
        *check_distributions(),
        *check_plugins(),
    ]
    if module is not None:
        checks += check_module(module, env, secrets_file)
    checks += [check_service(kind, url, timeout) for kind, url in services]
    return checks


def format_checks(checks: Sequence[Check]) -> str:
    lines: list[str] = []
    section = None
    for check in checks:
        if check.section != section:
            section = check.section
            lines.append(section)
        mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[check.status]
        lines.append(f"  {mark} {check.name}: {check.detail}")
        if check.fix:
            lines.append(f"       fix: {check.fix}")
    problems = sum(c.status == "fail" for c in checks)
    warnings = sum(c.status == "warn" for c in checks)
    lines.append(f"{problems} problem(s), {warnings} warning(s)")
    return "\n".join(lines)


@click.command("doctor")
@click.option(
    "--module", "module", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    shell_complete=complete_module_files,
    help="A module file: does it import, are its secrets known, which adapter serves it.",
)  # fmt: skip
@click.option(
    "--secrets", "secrets_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The .env file `pywatt run --secrets` would answer secrets from.",
)  # fmt: skip
@click.option("--env", "env_pairs", multiple=True, metavar="KEY=VAL", help="A secret, as in run.")
@click.option("--database", multiple=True, metavar="URL", help="Check a database is reachable.")
@click.option("--cache", multiple=True, metavar="URL", help="Check a cache is reachable.")
@click.option("--broker", multiple=True, metavar="URL", help="Check a broker is reachable.")
@click.option("--timeout", type=float, default=5.0, show_default=True, help="Per service, s.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def doctor_command(
    module: Path | None,
    secrets_file: Path | None,
    env_pairs: tuple[str, ...],
    database: tuple[str, ...],
    cache: tuple[str, ...],
    broker: tuple[str, ...],
    timeout: float,
    as_json: bool,
) -> None:
    """Check the installation, a module file and services; exit 1 on any problem."""
    services: list[tuple[ServiceKind, str]] = [
        *(("database", url) for url in database),
        *(("cache", url) for url in cache),
        *(("broker", url) for url in broker),
    ]
    checks = run_checks(module, parse_env(env_pairs), secrets_file, services, timeout)
    ok = all(c.status != "fail" for c in checks)
    if as_json:
        payload = {"ok": ok, "checks": [c.as_dict() for c in checks]}
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(format_checks(checks))
    if not ok:
        sys.exit(1)
