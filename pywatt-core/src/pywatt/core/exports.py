"""Lazy public names for a package ``__init__``: each loads on first use.

Every pywatt distribution re-exports its public names from its package, and plugin
discovery imports those packages; loading the names eagerly would import a web framework,
SQLAlchemy or a JOSE library in processes that never use them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, names: Mapping[str, str], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``names`` maps a name to its module.

    Use as ``__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)``.
    """

    def getattr_(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def dir_() -> list[str]:
        return sorted(public)

    return getattr_, dir_
