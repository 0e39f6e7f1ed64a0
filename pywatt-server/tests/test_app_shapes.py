"""Route tables served as their framework would serve them: APIRouter, Router, Mount, Blueprint.

Each is served by a real module process under the dev orchestrator, over stdio.
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from pywatt.cli.orchestrator import ModuleSpec, Orchestrator, SecretSource
from pywatt.core.errors import ServerError
from pywatt.core.plugins import build_plugins
from pywatt.server import select_adapter

pytestmark = pytest.mark.anyio

ENV = {"PYWATT_LOAD_PLUGINS": "core,server", "PYWATT_LOG": "warn"}

APPS = {
    "apirouter": """
        from fastapi import APIRouter

        def make(state):
            router = APIRouter()

            @router.get("/items/{item_id}")
            async def item(item_id: int) -> dict[str, int]:
                return {"id": item_id}

            return router
    """,
    "router": """
        from starlette.responses import JSONResponse
        from starlette.routing import Route, Router

        async def item(request):
            return JSONResponse({"id": int(request.path_params["item_id"])})

        def make(state):
            return Router(routes=[Route("/items/{item_id}", item)])
    """,
    "mount": """
        from starlette.responses import JSONResponse
        from starlette.routing import Mount, Route

        async def item(request):
            return JSONResponse({"id": int(request.path_params["item_id"])})

        def make(state):
            return Mount("/items", routes=[Route("/{item_id}", item)])
    """,
    "blueprint": """
        from flask import Blueprint, jsonify

        def make(state):
            bp = Blueprint("items", __name__)

            @bp.get("/items/<int:item_id>")
            def item(item_id):
                return jsonify(id=item_id)

            return bp
    """,
}


@pytest.mark.parametrize("shape", sorted(APPS))
async def test_a_route_table_is_served_inside_its_framework_app(tmp_path, shape):
    script = tmp_path / f"{shape}.py"
    source = textwrap.dedent(APPS[shape]) + (
        "\nfrom pywatt.server import serve_module\nserve_module(make)\n"
    )
    script.write_text(source)
    async with Orchestrator(SecretSource.from_dict({}), log_sink=lambda log: None) as orch:
        handle = await orch.start(ModuleSpec([sys.executable, str(script)], shape, env=ENV))
        response = await handle.http("GET", "/items/7")
        assert response.status == 200
        assert json.loads(response.body) == {"id": 7}
        assert "/items/{item_id}" in [e.path for e in handle.endpoints]
        assert await handle.stop(timeout=10) == 0


def test_an_object_no_adapter_serves_is_named():
    with pytest.raises(ServerError, match=r"no server adapter serves builtins\.dict"):
        select_adapter(
            {"not": "an app"}, plugins=build_plugins(env={"PYWATT_LOAD_PLUGINS": "server"})
        )
