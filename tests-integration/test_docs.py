"""Every hook has its own documented section with its full signature."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from pywatt.core import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("pywatt_"))


def _signature(name: str) -> str:
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"def {name}({params}) -> {sig.return_annotation}"


def test_there_are_hooks_to_document():
    assert len(HOOKS) >= 10


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_signature(hook):
    text = DOCS.read_text()
    assert f"\n## {hook}\n" in text, f"docs/hooks.md has no section for {hook}"
    section = text.split(f"\n## {hook}\n", 1)[1].split("\n## ", 1)[0]
    assert _signature(hook) in section


@pytest.mark.parametrize("hook", HOOKS)
def test_hookspec_docstring_gives_every_parameter(hook):
    fn = getattr(hookspecs, hook)
    for param in inspect.signature(fn).parameters:
        assert f":param {param}:" in (fn.__doc__ or ""), f"{hook} lacks :param {param}:"
