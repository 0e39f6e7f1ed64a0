"""``/health``, ``/ready``, ``/metrics`` and ``version=`` on real module processes.

Readiness follows a user check that the test flips through a file; ``/metrics`` is parsed with
``prometheus_client.parser`` after a mixed workload over stdio and the socket, and every
request counter matches what was sent; 1,000 distinct raw paths of one route template give
one label set.
"""

from __future__ import annotations

import textwrap
from contextlib import asynccontextmanager

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pywatt.cli.orchestrator import ModuleSpec, Orchestrator, SecretSource

pytestmark = pytest.mark.anyio

ENV = {"PYWATT_LOAD_PLUGINS": "core,server"}

FASTAPI_MODULE = textwrap.dedent(
    """
    import os
    import pathlib
    from fastapi import FastAPI
    from pywatt.core import pywatt_module

    FLAG = pathlib.Path(os.environ["OPS_FLAG"])

    @pywatt_module(version={version!r})
    def create_app(state):
        app = FastAPI(openapi_url=None)

        @app.get("/items/{{item_id}}")
        async def item(item_id: int) -> dict:
            return {{"id": item_id}}

        @app.post("/items")
        async def add() -> dict:
            return {{"id": 1}}

        return app

    @create_app.health_check("flag", timeout=1.0)
    async def flag_is_up() -> bool:
        return FLAG.read_text() == "up"

    if __name__ == "__main__":
        create_app.run()
    """
)

FLASK_MODULE = textwrap.dedent(
    """
    from flask import Flask
    from pywatt.core import pywatt_module

    @pywatt_module()
    def create_app(state):
        app = Flask("ops")

        @app.get("/items/<int:item_id>")
        def item(item_id):
            return {"id": item_id}

        @app.get("/health")
        def health():
            return {"mine": True}

        return app

    if __name__ == "__main__":
        create_app.run()
    """
)


def quiet(_log):
    """Module logs stay out of the test output."""


async def start(orch, tmp_path, source, flag=None):
    script = tmp_path / "ops_module.py"
    script.write_text(source)
    env = {**ENV, "OPS_FLAG": str(flag)} if flag else ENV
    spec = ModuleSpec.for_script(str(script), module_id="ops", env=env)
    return await orch.start(spec)


async def via_socket(handle, method, uri):
    host, port = handle.http_address
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=30) as client:
        return await client.request(method, uri)


@asynccontextmanager
async def fastapi_module(tmp_path, version=None):
    """The FastAPI module running, with its readiness flag file set to "up"."""
    flag = tmp_path / "flag"
    flag.write_text("up")
    async with Orchestrator(SecretSource.from_dict({}), log_sink=quiet) as orch:
        yield await start(orch, tmp_path, FASTAPI_MODULE.format(version=version), flag), flag


def samples(text):
    """``{(name, frozenset(labels)): value}`` for every sample in an exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def label_sets(text, name):
    return [labels for (sample, labels) in samples(text) if sample == name]


async def test_ready_follows_its_checks_and_every_route_is_announced(tmp_path):
    async with fastapi_module(tmp_path) as (handle, flag):
        announced = {e.path for e in handle.endpoints}
        assert {"/health", "/ready", "/metrics", "/items", "/items/{item_id}"} <= announced

        live = await handle.http("GET", "/health")
        assert (live.status, live.json()["status"]) == (200, "ok")
        ready = await handle.http("GET", "/ready")
        assert ready.status == 200
        assert ready.json()["checks"]["flag"]["status"] == "ok"
        assert ready.json()["checks"]["flag"]["latency_ms"] >= 0

        flag.write_text("down")
        ready = await handle.http("GET", "/ready")
        assert ready.status == 503
        assert ready.json()["status"] == "fail"
        assert ready.json()["checks"]["flag"]["status"] == "fail"
        assert (await handle.http("GET", "/health")).status == 200  # alive, not ready
        socket_ready = await via_socket(handle, "GET", "/ready")
        assert socket_ready.status_code == 503

        flag.write_text("up")
        assert (await handle.http("GET", "/ready")).status == 200
        assert (await handle.http("POST", "/ready")).status == 405


async def test_version_prefixes_the_app_routes_and_their_announce(tmp_path):
    async with fastapi_module(tmp_path, version="v1") as (handle, _flag):
        announced = {e.path for e in handle.endpoints}
        assert {"/v1/items", "/v1/items/{item_id}", "/health", "/ready"} <= announced
        assert "/items/{item_id}" not in announced
        reply = await handle.http("GET", "/v1/items/7")
        assert (reply.status, reply.json()) == (200, {"id": 7})
        assert (await handle.http("GET", "/items/7")).status == 404
        assert (await via_socket(handle, "GET", "/v1/items/8")).json() == {"id": 8}
        assert (await handle.http("GET", "/health")).status == 200
        metrics = (await handle.http("GET", "/metrics")).text
        routes = {
            dict(labels)["route"] for labels in label_sets(metrics, "pywatt_http_requests_total")
        }
        assert routes == {"/v1/items/{item_id}", "<unmatched>"}


async def test_metrics_count_every_request_by_template_status_and_transport(tmp_path):
    async with fastapi_module(tmp_path) as (handle, _flag):
        for i in range(7):
            assert (await handle.http("GET", f"/items/{i}")).status == 200
        for _ in range(3):
            assert (await handle.http("POST", "/items")).status == 200
        for i in range(5):
            assert (await via_socket(handle, "GET", f"/items/{100 + i}")).status_code == 200
        assert (await handle.http("GET", "/items/not-a-number")).status == 422
        assert (await via_socket(handle, "GET", "/nowhere/else")).status_code == 404

        text = (await via_socket(handle, "GET", "/metrics")).text
        found = samples(text)

        def requests(route, method, status, transport):
            labels = {"route": route, "method": method, "status": status, "transport": transport}
            return found[("pywatt_http_requests_total", frozenset(labels.items()))]

        assert requests("/items/{item_id}", "GET", "200", "stdio") == 7
        assert requests("/items", "POST", "200", "stdio") == 3
        assert requests("/items/{item_id}", "GET", "200", "socket") == 5
        assert requests("/items/{item_id}", "GET", "422", "stdio") == 1
        assert requests("<unmatched>", "GET", "404", "socket") == 1
        total = sum(v for (n, _), v in found.items() if n == "pywatt_http_requests_total")
        assert total == 17  # the scrapes themselves are not counted
        latency = {"route": "/items/{item_id}", "method": "GET", "transport": "stdio"}
        count = ("pywatt_http_request_duration_seconds_count", frozenset(latency.items()))
        assert found[count] == 8
        assert found[("pywatt_http_requests_in_flight", frozenset({("transport", "stdio")}))] == 0
        lines_in = found[("pywatt_control_lines_total", frozenset({("direction", "in")}))]
        assert lines_in == 11  # each stdio request is one line in, and nothing else came
        lines_out = found[("pywatt_control_lines_total", frozenset({("direction", "out")}))]
        assert lines_out >= 12  # the announce, then one response per request
        assert ("pywatt_control_lines_undecodable_total", frozenset()) in found
        assert ("pywatt_secret_fetches_total", frozenset()) in found
        info = [labels for (n, labels) in found if n == "pywatt_module_info"]
        assert dict(info[0])["module_id"] == "ops"


async def test_label_cardinality_stays_bounded_over_distinct_raw_paths(tmp_path):
    async with fastapi_module(tmp_path) as (handle, _flag):
        for i in range(1000):
            assert (await handle.http("GET", f"/items/{i}")).status == 200
        text = (await handle.http("GET", "/metrics")).text
        assert label_sets(text, "pywatt_http_requests_total") == [
            frozenset(
                {
                    ("route", "/items/{item_id}"),
                    ("method", "GET"),
                    ("status", "200"),
                    ("transport", "stdio"),
                }
            )
        ]
        assert "/items/999" not in text


async def test_flask_routes_are_labelled_by_template_and_its_own_health_wins(tmp_path):
    async with Orchestrator(SecretSource.from_dict({}), log_sink=quiet) as orch:
        handle = await start(orch, tmp_path, FLASK_MODULE)
        assert (await handle.http("GET", "/health")).json() == {"mine": True}
        assert (await handle.http("GET", "/ready")).status == 200
        for i in range(3):
            assert (await handle.http("GET", f"/items/{i}")).status == 200
        text = (await handle.http("GET", "/metrics")).text
        routes = {
            dict(labels)["route"] for labels in label_sets(text, "pywatt_http_requests_total")
        }
        assert routes == {"/items/{item_id}", "/health"}
