"""``pywatt new``: what each choice puts in the generated files.

The generated projects are run (installed, linted, type-checked, tested, served) by
tests-integration/test_scaffold.py; here the rendering itself is checked with only pywatt-core
and pywatt-cli installed.
"""

from __future__ import annotations

import ast
import itertools
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pywatt.cli import cli
from pywatt.cli.new import KINDS, ModuleChoices, PluginChoices, render_module, render_plugin

if sys.version_info >= (3, 11):
    import tomllib
else:  # the noxfile installs tomli there
    import tomli as tomllib

VERSION = "9.8.7"

LONGEST = "abcdefghij-klmnopqrs-tuv"  # 24 characters, the most a name may have
COMBOS = [
    ModuleChoices(name, framework, database, cache, auth, broker)
    for name, framework, database, cache, auth, broker in itertools.product(
        ["svc", LONGEST],
        ["fastapi", "starlette", "flask"],
        [None, "sqlite", "postgres"],
        [None, "memory", "redis"],
        [False, True],
        [None, "memory", "nats"],
    )
]


def _pyproject(files: dict[str, str]) -> dict[str, object]:
    return tomllib.loads(files["pyproject.toml"])


@pytest.mark.parametrize("choices", COMBOS, ids=repr)
def test_every_combination_renders_valid_python_and_toml(choices: ModuleChoices) -> None:
    files = render_module(choices, VERSION)
    package = choices.package
    assert set(files) == {
        "pyproject.toml",
        f"{package}.py",
        f"tests/test_{package}.py",
        ".env.example",
        "README.md",
        ".gitignore",
    }
    for path, text in files.items():
        if path.endswith(".py"):
            ast.parse(text, path)
            assert "\n\n\n\n" not in text, f"{path}: more than two blank lines"
            assert text.endswith("\n")
            assert not text.endswith("\n\n")
            assert all(len(line) <= 100 for line in text.splitlines()), path
            assert "from __future__ import annotations" in text
    _pyproject(files)


def test_a_bare_fastapi_module_depends_on_core_server_and_fastapi_only() -> None:
    files = render_module(ModuleChoices("svc"), VERSION)
    project = _pyproject(files)["project"]
    assert isinstance(project, dict)
    assert project["dependencies"] == [
        "pywatt-core==9.8.7",
        "pywatt-server[starlette]==9.8.7",
        "fastapi>=0.110",
    ]
    test_deps = project["optional-dependencies"]["test"]
    assert "pywatt-cli==9.8.7" in test_deps  # the pytest fixtures and `pywatt run`
    assert "import pywatt.data" not in files["svc.py"]
    assert "pywatt.data" not in files["svc.py"]


def test_each_service_adds_exactly_its_distribution_and_extra() -> None:
    choices = ModuleChoices("svc", "flask", "postgres", "redis", True, "nats")
    project = _pyproject(render_module(choices, VERSION))["project"]
    assert isinstance(project, dict)
    assert project["dependencies"] == [
        "pywatt-auth[flask]==9.8.7",
        "pywatt-comm[nats]==9.8.7",
        "pywatt-core==9.8.7",
        "pywatt-data[postgres,redis]==9.8.7",
        "pywatt-server[flask]==9.8.7",
    ]
    embedded = ModuleChoices("svc", "starlette", "sqlite", "memory", False, "memory")
    project = _pyproject(render_module(embedded, VERSION))["project"]
    assert isinstance(project, dict)
    assert project["dependencies"] == [
        "pywatt-comm==9.8.7",
        "pywatt-core==9.8.7",
        "pywatt-data==9.8.7",
        "pywatt-server[starlette]==9.8.7",
    ]


def test_secrets_are_listed_in_env_example_and_required_by_the_module() -> None:
    choices = ModuleChoices("acme-orders", "fastapi", "sqlite", "memory", True, "memory")
    files = render_module(choices, VERSION)
    example = dict(
        line.split("=", 1)
        for line in files[".env.example"].splitlines()
        if line and not line.startswith("#")
    )
    assert example == {
        "ACME_ORDERS_GREETING": "Hello",
        "DATABASE_URL": "sqlite:///acme_orders.db",
        "CACHE_URL": "memory://",
        "JWT_SECRET": "change-me-to-a-random-string-of-32-bytes-or-more",
        "PYWATT_BROKER_URL": "memory://",
    }
    module = files["acme_orders.py"]
    for name in example:
        assert f'    "{name}",\n' in module
    # Every secret the module needs is given by its tests.
    for name in example:
        assert f'"{name}":' in files["tests/test_acme_orders.py"]


def test_readme_starts_with_its_run_and_test_lines() -> None:
    readme = render_module(ModuleChoices("svc", "flask"), VERSION)["README.md"]
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    assert blocks[0].endswith("pywatt run svc.py --secrets .env")
    assert blocks[1].endswith("&& pytest")
    assert readme.index("```sh") < readme.index("The first line")


@pytest.mark.parametrize("kind", KINDS)
def test_the_longest_name_keeps_plugin_lines_within_100_columns(kind: str) -> None:
    for path, text in render_plugin(PluginChoices(LONGEST, kind), VERSION).items():
        if path.endswith(".py"):
            assert all(len(line) <= 100 for line in text.splitlines()), path


@pytest.mark.parametrize("kind", KINDS)
def test_each_plugin_kind_renders(kind: str) -> None:
    files = render_plugin(PluginChoices("pywatt-acme", kind), VERSION)
    assert set(files) == {
        "pyproject.toml",
        "README.md",
        ".gitignore",
        "src/pywatt_acme/__init__.py",
        "src/pywatt_acme/py.typed",
        "src/pywatt_acme/plugin.py",
        f"src/pywatt_acme/{kind}.py",
        f"tests/test_{kind}.py",
    }
    for path, text in files.items():
        if path.endswith(".py"):
            ast.parse(text, path)
            assert all(len(line) <= 100 for line in text.splitlines()), path
    project = _pyproject(files)["project"]
    assert isinstance(project, dict)
    assert project["entry-points"] == {"pywatt": {"acme": "pywatt_acme.plugin"}}
    assert '"acme",' in files["src/pywatt_acme/plugin.py"]
    if kind in ("encoder", "command"):
        assert "NotImplementedError" not in files[f"src/pywatt_acme/{kind}.py"]
    else:
        assert "NotImplementedError" in files[f"src/pywatt_acme/{kind}.py"]


def test_the_class_name_does_not_repeat_the_kind() -> None:
    assert PluginChoices("acme-cache", "cache").class_name == "AcmeCache"
    assert PluginChoices("pywatt-cbor", "encoder").class_name == "CborEncoder"


def test_new_module_writes_the_project(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["new", "module", "orders", "--framework", "starlette", "--cache", "memory",
              "-o", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    root = tmp_path / "orders"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        ".env.example",
        ".gitignore",
        "README.md",
        "orders.py",
        "pyproject.toml",
        "tests/test_orders.py",
    ]
    assert "from starlette.applications import Starlette" in (root / "orders.py").read_text()
    assert f"created module project {root}" in result.output


def test_new_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["new", "module", "orders", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "already exists and is not empty" in result.output
    assert (tmp_path / "orders" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("name", ["Orders", "1st", "my module", "class", "a/b", "a" * 25])
def test_new_refuses_a_bad_name(tmp_path: Path, name: str) -> None:
    result = CliRunner().invoke(cli, ["new", "module", name, "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "NAME" in result.output
    assert not any(tmp_path.iterdir())


def test_new_plugin_requires_a_kind(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["new", "plugin", "acme", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "--kind" in result.output
