from __future__ import annotations

from pywatt.core.plugins import get_plugins, reset_plugins


def test_entry_point_loads_from_its_distribution():
    reset_plugins()
    try:
        info = next(p for p in get_plugins().plugins() if p.name == "models")
        assert info.distribution == "pywatt-models"
        assert info.module == "pywatt.models.plugin"
    finally:
        reset_plugins()
