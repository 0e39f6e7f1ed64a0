"""One request crossing two module processes is one OpenTelemetry trace.

Each module installs the OpenTelemetry SDK with its in-memory exporter (a test dependency
only) and lists its finished spans on ``/spans``. The test sends ``GET /go`` to the front
module with a ``traceparent`` of its own; the front module reaches the back module through
module-to-module routing or through the NATS broker. Every span of both processes must carry
the test's trace id, and each hop must be the child of the span that sent it.
"""

from __future__ import annotations

import secrets
import textwrap

import pytest

from pywatt.cli.orchestrator import ModuleSpec, Orchestrator

pytestmark = pytest.mark.anyio

NATS_URL = "nats://127.0.0.1:4222"

SDK_SETUP = """
import os
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.responses import JSONResponse
from starlette.routing import Route

EXPORTER = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
trace.set_tracer_provider(provider)


async def spans(request):
    return JSONResponse([
        {
            "name": s.name,
            "kind": s.kind.name,
            "trace_id": format(s.context.trace_id, "032x"),
            "span_id": format(s.context.span_id, "016x"),
            "parent_id": format(s.parent.span_id, "016x") if s.parent else None,
        }
        for s in EXPORTER.get_finished_spans()
    ])
"""

FRONT = SDK_SETUP + textwrap.dedent(
    """
    from starlette.applications import Starlette
    from pywatt.comm.routing import router
    from pywatt.core import pywatt_module

    @pywatt_module()
    def create_app(state):
        async def go(request):
            if request.query_params["via"] == "routing":
                answer = await router(state).route("back", "double", {"n": 21}, timeout=15)
            else:
                answer = await state.broker.request(os.environ["TRACE_SUBJECT"], {"n": 21})
            return JSONResponse(answer)

        return Starlette(routes=[Route("/go", go), Route("/spans", spans)])

    if __name__ == "__main__":
        create_app.run()
    """
)

BACK = SDK_SETUP + textwrap.dedent(
    """
    from starlette.applications import Starlette
    from pywatt.comm.routing import router
    from pywatt.core import pywatt_module

    @pywatt_module()
    def create_app(state):
        router(state).on_routed(None, lambda source, request_id, payload: {"n": payload["n"] * 2})
        return Starlette(routes=[Route("/spans", spans)])

    @create_app.reply(os.environ["TRACE_SUBJECT"])
    async def double(payload, state):
        return {"n": payload["n"] * 2}

    if __name__ == "__main__":
        create_app.run()
    """
)


def quiet(_log):
    """Module logs stay out of the test output."""


@pytest.mark.parametrize("via", ["routing", "broker"])
async def test_one_trace_across_two_module_processes(tmp_path, via):
    subject = f"pywatt.trace.{secrets.token_hex(4)}"
    env = {
        "PYWATT_BROKER_URL": NATS_URL,
        "TRACE_SUBJECT": subject,
    }
    (tmp_path / "front.py").write_text(FRONT)
    (tmp_path / "back.py").write_text(BACK)
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    async with Orchestrator(log_sink=quiet) as orch:
        back = await orch.start(
            ModuleSpec.for_script(tmp_path / "back.py", tcp_channel=True, env=env)
        )
        front = await orch.start(
            ModuleSpec.for_script(tmp_path / "front.py", tcp_channel=True, env=env)
        )
        headers = {"traceparent": f"00-{trace_id}-{caller_span}-01"}
        reply = await front.http("GET", f"/go?via={via}", headers=headers, timeout=30)
        assert reply.status == 200, reply.text
        assert reply.json() == {"n": 42}
        front_spans = (await front.http("GET", "/spans")).json()
        back_spans = (await back.http("GET", "/spans")).json()

    traced = [s for s in front_spans + back_spans if s["trace_id"] == trace_id]
    server = next(s for s in front_spans if s["name"] == "GET /go")
    assert server["kind"] == "SERVER"
    assert server["parent_id"] == caller_span  # the caller's traceparent was honoured
    hop_name = "route double" if via == "routing" else f"request {subject}"
    hop = next(s for s in front_spans if s["name"] == hop_name)
    assert hop["kind"] == "CLIENT"
    assert hop["parent_id"] == server["span_id"]
    handled_name = "routed message" if via == "routing" else f"reply {subject}"
    handled = next(s for s in back_spans if s["name"] == handled_name)
    assert handled["kind"] == "SERVER"
    assert handled["parent_id"] == hop["span_id"]  # crossed the process boundary
    assert {s["trace_id"] for s in (server, hop, handled)} == {trace_id}
    assert len(traced) >= 3
