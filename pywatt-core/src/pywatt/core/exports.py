"""Lazy public names for a package ``__init__``: each loads on first use.

Every pywatt distribution re-exports its public names from its package, and plugin
discovery imports those packages; loading the names eagerly would import a web framework,
SQLAlchemy or a JOSE library in processes that never use them. The names are declared twice:
as ``X as X`` imports under ``TYPE_CHECKING`` for type checkers, and here by module for the
runtime; a test checks that the two agree in every distribution.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, groups: Mapping[str, str], own: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``.

    ``groups`` maps a module to the space-separated names it provides; ``own`` lists public
    names the package defines itself. Use as
    ``__getattr__, __dir__, __all__ = lazy_exports(__name__, {"pkg.mod": "A B"})``.
    """
    names = {name: module for module, listed in groups.items() for name in listed.split()}
    public = sorted({*names, *own})

    def getattr_(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def dir_() -> list[str]:
        return list(public)

    return getattr_, dir_, public
