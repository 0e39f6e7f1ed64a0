"""pywatt's own adapters through the shipped kit: Starlette (with a Starlette and a FastAPI
app) and Flask. The tests are :class:`pywatt.server.testing.AdapterConformance`, the suite
third-party adapters run; the apps are in conftest.py.
"""

from __future__ import annotations

import importlib.metadata as md
from collections.abc import Callable
from typing import Any

import pytest

from pywatt.core.plugins import Plugins, build_plugins
from pywatt.server import FlaskAdapter, StarletteAdapter
from pywatt.server.testing import AdapterConformance, AdapterTraits, Gate


class OurPlugins:
    @pytest.fixture
    def adapter_plugins(self) -> Plugins:
        """pywatt-core's and pywatt-server's plugins only, whatever else the venv holds."""
        eps = [ep for ep in md.entry_points(group="pywatt") if ep.name in {"core", "server"}]
        return build_plugins(entry_points=eps, env={})


class TestStarletteAdapter(OurPlugins, AdapterConformance):
    @pytest.fixture
    def adapter(self) -> StarletteAdapter:
        return StarletteAdapter()

    @pytest.fixture
    def app(self, gate: Gate, make_app: Callable[..., Any]) -> Any:
        return make_app("starlette", gate)

    @pytest.fixture
    def adapter_traits(self) -> AdapterTraits:
        # Starlette's ServerErrorMiddleware answers first, then re-raises for pywatt to log.
        return AdapterTraits(error_body=b"Internal Server Error")


class TestStarletteAdapterWithFastAPI(TestStarletteAdapter):
    @pytest.fixture
    def app(self, gate: Gate, make_app: Callable[..., Any]) -> Any:
        return make_app("fastapi", gate)


class TestFlaskAdapter(OurPlugins, AdapterConformance):
    @pytest.fixture
    def adapter(self) -> FlaskAdapter:
        return FlaskAdapter()

    @pytest.fixture
    def app(self, gate: Gate, make_app: Callable[..., Any]) -> Any:
        # Flask's own 500 page is switched off by the adapter: pywatt's JSON body answers.
        return make_app("flask", gate)
