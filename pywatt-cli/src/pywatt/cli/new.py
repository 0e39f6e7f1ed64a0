"""``pywatt new``: generate a module project or a third-party plugin distribution.

Templates are package data under ``templates/`` rendered with Jinja2. A project varies by
framework and by four optional services, each adding imports, state fields, routes, tests,
dependencies and secrets in several files at once: that takes conditionals, which
``string.Template`` lacks, and doing them in Python would put the code back into string
concatenation. ``StrictUndefined`` makes a misspelt variable an error, not an empty string.
"""

from __future__ import annotations

import importlib.metadata as md
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "KINDS",
    "ModuleChoices",
    "PluginChoices",
    "new_group",
    "render_module",
    "render_plugin",
]

Framework = Literal["fastapi", "starlette", "flask"]
FRAMEWORKS: tuple[Framework, ...] = ("fastapi", "starlette", "flask")
DATABASES = ("sqlite", "postgres", "mysql")
CACHES = ("memory", "redis", "memcached")
BROKERS = ("memory", "nats", "redis")
KINDS = ("cache", "database", "encoder", "adapter", "authenticator", "command", "broker")

#: Where the pytest fixtures' handle type lives; one place to change if it moves.
ORCHESTRATOR_MODULE = "pywatt.cli.orchestrator"

#: Short enough that file, class and module names keep generated lines within 100 columns.
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,23}$")

#: Example values for ``.env.example``: a local server's usual address.
_DATABASE_URLS = {
    "sqlite": "sqlite:///{name}.db",
    "postgres": "postgresql://postgres@127.0.0.1:5432/{name}",
    "mysql": "mysql://root@127.0.0.1:3306/{name}",
}
_CACHE_URLS = {
    "memory": "memory://",
    "redis": "redis://127.0.0.1:6379/0",
    "memcached": "memcached://127.0.0.1:11211",
}
_BROKER_URLS = {
    "memory": "memory://",
    "nats": "nats://127.0.0.1:4222",
    "redis": "redis://127.0.0.1:6379/0",
}
#: The pywatt extra each choice needs (none for what the distribution embeds).
_DATA_EXTRAS = {name: name for name in ("postgres", "mysql", "redis", "memcached")}
_COMM_EXTRAS = {name: name for name in ("nats", "redis")}


def pywatt_version() -> str:
    """The version every generated pin uses: the installed pywatt's (they share one)."""
    return md.version("pywatt-cli")


def check_name(name: str) -> tuple[str, str]:
    """``(project, package)``: ``acme-orders`` stays the project, ``acme_orders`` the import."""
    if not _NAME.match(name):
        raise click.BadParameter(
            f"{name!r}: use a lowercase letter, then up to 23 letters, digits, '-' or '_'",
            param_hint="NAME",
        )
    package = name.replace("-", "_")
    if keyword.iskeyword(package):
        raise click.BadParameter(f"{name!r} is a Python keyword", param_hint="NAME")
    return name, package


def _requirement(dist: str, extras: set[str], version: str) -> str:
    tail = f"[{','.join(sorted(extras))}]" if extras else ""
    return f"{dist}{tail}=={version}"


@dataclass(frozen=True)
class ModuleChoices:
    """What ``pywatt new module`` was asked for."""

    name: str
    framework: Framework = "fastapi"
    database: str | None = None
    cache: str | None = None
    auth: bool = False
    broker: str | None = None

    @property
    def package(self) -> str:
        return check_name(self.name)[1]

    @property
    def secret_prefix(self) -> str:
        return self.package.upper()

    def dependencies(self, version: str) -> list[str]:
        """Exactly the pywatt distributions and extras the generated module imports."""
        server_extra = "flask" if self.framework == "flask" else "starlette"
        deps = {
            "pywatt-core": set[str](),
            "pywatt-server": {server_extra},
        }
        if self.database or self.cache:
            deps["pywatt-data"] = {
                _DATA_EXTRAS[c] for c in (self.database, self.cache) if c in _DATA_EXTRAS
            }
        if self.auth:
            deps["pywatt-auth"] = {server_extra}
        if self.broker:
            deps["pywatt-comm"] = {self.broker} & set(_COMM_EXTRAS)
        out = [_requirement(dist, extras, version) for dist, extras in sorted(deps.items())]
        if self.framework == "fastapi":
            out.append("fastapi>=0.110")
        return out

    def secrets(self) -> dict[str, str]:
        """Secret name -> the example value ``.env.example`` gives it."""
        out = {f"{self.secret_prefix}_GREETING": "Hello"}
        if self.database:
            out["DATABASE_URL"] = _DATABASE_URLS[self.database].format(name=self.package)
        if self.cache:
            out["CACHE_URL"] = _CACHE_URLS[self.cache]
        if self.auth:
            out["JWT_SECRET"] = "change-me-to-a-random-string-of-32-bytes-or-more"
        if self.broker:
            out["PYWATT_BROKER_URL"] = _BROKER_URLS[self.broker]
        return out


@dataclass(frozen=True)
class PluginChoices:
    """What ``pywatt new plugin`` was asked for."""

    name: str
    kind: str

    @property
    def package(self) -> str:
        return check_name(self.name)[1]

    @property
    def component(self) -> str:
        """The registered name: the project name without a ``pywatt-`` prefix."""
        return self.name.removeprefix("pywatt-").removeprefix("pywatt_").replace("_", "-")

    @property
    def class_name(self) -> str:
        words = re.split(r"[-_]", self.component)
        if len(words) > 1 and words[-1] == self.kind:
            words = words[:-1]  # acme-cache -> AcmeCache, not AcmeCacheCache
        suffix = {
            "cache": "Cache",
            "database": "Database",
            "encoder": "Encoder",
            "adapter": "Adapter",
            "authenticator": "Authenticator",
            "command": "Command",
            "broker": "Broker",
        }[self.kind]
        return "".join(w.capitalize() for w in words) + suffix

    def dependencies(self, version: str) -> list[str]:
        dist = {
            "cache": "pywatt-data",
            "database": "pywatt-data",
            "encoder": "pywatt-core",
            "adapter": "pywatt-core",
            "authenticator": "pywatt-auth",
            "command": "pywatt-cli",
            "broker": "pywatt-comm",
        }[self.kind]
        out = [_requirement(dist, set(), version)]
        if dist != "pywatt-core":
            out.insert(0, _requirement("pywatt-core", set(), version))
        return out


#: Per kind: the registration hook, what is registered, and whether it is an instance.
_KIND_HOOKS: dict[str, Any] = {
    "cache": lambda p: _hook("cache_backends", f"{p.class_name}Config"),
    "database": lambda p: _hook("database_backends", f"open_{p.component.replace('-', '_')}"),
    "encoder": lambda p: _hook("encoders", p.class_name, call=True),
    "adapter": lambda p: _hook("server_adapters", p.class_name, call=True),
    "authenticator": lambda p: _hook("authenticators", p.class_name),
    "command": lambda p: _hook("commands", f"{p.component.replace('-', '_')}_command"),
    "broker": lambda p: _hook("brokers", p.class_name),
}


#: The typed register callable each registration hook receives (pywatt.core exports them).
_REGISTER_TYPES = {
    "cache_backends": "RegisterCacheBackend",
    "database_backends": "RegisterDatabaseBackend",
    "encoders": "RegisterEncoder",
    "server_adapters": "RegisterServerAdapter",
    "authenticators": "RegisterAuthenticator",
    "commands": "RegisterCommand",
    "brokers": "RegisterBroker",
}


def _hook(what: str, registered: str, *, call: bool = False) -> dict[str, Any]:
    return {
        "hook": f"pywatt_register_{what}",
        "register_type": _REGISTER_TYPES[what],
        "registered": registered,
        "call": call,
    }


def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("pywatt.cli", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Python, TOML and Markdown: never HTML
    )


def _render_all(
    files: dict[str, str], choices: ModuleChoices | PluginChoices, version: str, **context: Any
) -> dict[str, str]:
    """Render ``files`` (path -> template); every template gets the name and the pins."""
    env = _environment()
    context.update(
        name=choices.name, package=choices.package, dependencies=choices.dependencies(version)
    )
    return {path: env.get_template(template).render(**context) for path, template in files.items()}


def render_module(choices: ModuleChoices, version: str | None = None) -> dict[str, str]:
    """Relative path -> text of every file of the module project."""
    version = version or pywatt_version()
    pkg = choices.package
    context: dict[str, Any] = {
        "c": choices,
        "test_dependencies": [
            f"pywatt-cli=={version}",
            "pytest>=8",
            *(["joserfc>=1.8"] if choices.auth else []),  # the tests mint tokens
            "ruff>=0.6",
            "mypy>=1.10",
        ],
        "secrets": choices.secrets(),
        "greeting_secret": f"{choices.secret_prefix}_GREETING",
        "orchestrator_module": ORCHESTRATOR_MODULE,
        # Flask views are sync: they need the loop to run the async clients on.
        "needs_loop": choices.framework == "flask"
        and bool(choices.database or choices.cache or choices.broker),
    }
    files = {
        "pyproject.toml": "module/pyproject.toml.j2",
        f"{pkg}.py": f"module/{choices.framework}.py.j2",
        f"tests/test_{pkg}.py": "module/test_module.py.j2",
        ".env.example": "module/env.example.j2",
        "README.md": "module/README.md.j2",
        ".gitignore": "gitignore.j2",
    }
    return _render_all(files, choices, version, **context)


def render_plugin(choices: PluginChoices, version: str | None = None) -> dict[str, str]:
    """Relative path -> text of every file of the plugin distribution."""
    version = version or pywatt_version()
    pkg = choices.package
    context: dict[str, Any] = {
        "p": choices,
        "kind": choices.kind,
        "component": choices.component,
        "class_name": choices.class_name,
        "test_dependencies": ["pytest>=8", "ruff>=0.6", "mypy>=1.10"],
        "entry_point": pkg.removeprefix("pywatt_"),
        "function": choices.component.replace("-", "_"),
        **_KIND_HOOKS[choices.kind](choices),
    }
    files = {
        "pyproject.toml": "plugin/pyproject.toml.j2",
        "README.md": "plugin/README.md.j2",
        ".gitignore": "gitignore.j2",
        f"src/{pkg}/__init__.py": "plugin/init.py.j2",
        f"src/{pkg}/py.typed": "plugin/py.typed.j2",
        f"src/{pkg}/plugin.py": "plugin/plugin.py.j2",
        f"src/{pkg}/{choices.kind}.py": f"plugin/{choices.kind}.py.j2",
        f"tests/test_{choices.kind}.py": f"plugin/test_{choices.kind}.py.j2",
    }
    return _render_all(files, choices, version, **context)


def write_project(root: Path, files: dict[str, str]) -> None:
    """Write ``files`` under ``root``, which must not exist yet or be empty."""
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise click.ClickException(f"{root} already exists and is not empty")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _tree(root: Path, files: dict[str, str]) -> str:
    return "\n".join(f"  {root / rel}" for rel in sorted(files))


@click.group("new")
def new_group() -> None:
    """Generate a module project or a plugin distribution."""


@new_group.command("module")
@click.argument("name")
@click.option(
    "--framework", type=click.Choice(FRAMEWORKS), default="fastapi", show_default=True,
    help="The web framework the module's app uses.",
)  # fmt: skip
@click.option("--database", type=click.Choice(DATABASES), help="Wire a database (pywatt-data).")
@click.option("--cache", type=click.Choice(CACHES), help="Wire a cache (pywatt-data).")
@click.option("--auth", is_flag=True, help="Protect a route with a JWT (pywatt-auth).")
@click.option("--broker", type=click.Choice(BROKERS), help="Publish and consume (pywatt-comm).")
@click.option(
    "--output", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
    show_default=True, help="The folder the project folder NAME is created in.",
)  # fmt: skip
def new_module_command(
    name: str,
    framework: Framework,
    database: str | None,
    cache: str | None,
    auth: bool,
    broker: str | None,
    output: Path,
) -> None:
    """Generate a module project NAME: pyproject, module, tests, .env.example, README."""
    check_name(name)
    choices = ModuleChoices(name, framework, database, cache, auth, broker)
    files = render_module(choices)
    root = output / name
    write_project(root, files)
    click.echo(f"created module project {root}:\n{_tree(root, files)}")
    click.echo(f"next: cd {root} && cat README.md")


@new_group.command("plugin")
@click.argument("name")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="What the plugin provides.")
@click.option(
    "--output", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
    show_default=True, help="The folder the distribution folder NAME is created in.",
)  # fmt: skip
def new_plugin_command(name: str, kind: str, output: Path) -> None:
    """Generate a plugin distribution NAME providing one component of KIND."""
    check_name(name)
    choices = PluginChoices(name, kind)
    files = render_plugin(choices)
    root = output / name
    write_project(root, files)
    click.echo(f"created {kind} plugin {root}:\n{_tree(root, files)}")
    if kind in ("encoder", "command"):
        click.echo("it works as generated: install it and run its tests")
    else:
        click.echo(f"its tests fail until you implement src/{choices.package}/{kind}.py")
