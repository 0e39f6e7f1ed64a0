"""Every distribution's lazy public names agree with what its type checkers see, and load."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys

import pytest

PACKAGES = [
    "pywatt.core",
    "pywatt.core.protocol",
    "pywatt.comm",
    "pywatt.data",
    "pywatt.auth",
    "pywatt.server",
    "pywatt.models",
    "pywatt.cli",
]


def typed_names(module: object) -> dict[str, str]:
    """Names imported under ``if TYPE_CHECKING:``, each with the module it comes from."""
    tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom), ast.dump(imp)
                for alias in imp.names:
                    # `A as A` is what makes the name a re-export under mypy --strict.
                    assert alias.asname == alias.name, f"{imp.module}.{alias.name} lacks `as`"
                    found[alias.name] = str(imp.module)
    return found


@pytest.mark.parametrize("name", PACKAGES)
def test_lazy_names_match_the_type_checking_imports(name: str) -> None:
    package = importlib.import_module(name)
    typed = typed_names(package)
    own = {n for n in package.__all__ if n in vars(package) and n not in typed}
    assert set(package.__all__) == set(typed) | own
    assert sorted(dir(package)) == sorted(package.__all__)
    for export, source in typed.items():
        value = getattr(package, export)
        assert value is getattr(importlib.import_module(source), export), export


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pywatt.core

    with pytest.raises(AttributeError, match=r"'pywatt\.core' has no attribute 'nope'"):
        pywatt.core.nope  # noqa: B018


@pytest.mark.parametrize("name", PACKAGES)
def test_importing_a_package_loads_none_of_its_names(name: str) -> None:
    code = (
        "import sys, importlib\n"
        f"before = set(sys.modules)\npackage = importlib.import_module({name!r})\n"
        "loaded = set(sys.modules) - before\n"
        f"print(sorted(m for m in loaded if m.startswith('pywatt.') and m != {name!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = [m for m in eval(out.stdout) if m not in ("pywatt.core", "pywatt.core.exports")]
    assert loaded == [], loaded
