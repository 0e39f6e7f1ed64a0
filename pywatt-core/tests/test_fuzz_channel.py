"""Random and malformed stdin lines never crash a module nor put a stray byte on stdout."""

from __future__ import annotations

import json

import anyio
from hypothesis import HealthCheck, given, settings, strategies as st

from pywatt.core.module import PyWattModule
from pywatt.core.plugins import build_plugins
from pywatt.core.testing import ScriptedOrchestrator

OPS = [
    "init", "secret", "rotated", "http_request", "port_response", "service_response",
    "service_operation_result", "heartbeat", "routed_module_message", "routed_module_response",
    "register_service_provider_response", "discover_service_providers_response", "nope", "",
]  # fmt: skip

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=12,
)
messages = st.builds(
    lambda op, extra: json.dumps({"op": op, **extra}),
    st.sampled_from(OPS),
    st.dictionaries(
        st.sampled_from(["name", "value", "keys", "request_id", "body", "headers", "port", "id"]),
        json_values,
        max_size=5,
    ),
)
# Raw bytes, including invalid UTF-8 and stray carriage returns, one line each.
garbage = st.binary(max_size=64).map(lambda b: b.replace(b"\n", b" "))
lines = st.lists(messages | garbage | json_values.map(json.dumps), min_size=1, max_size=60)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines)
def test_random_lines_never_break_the_module(batch):
    async def scenario():
        plugins = build_plugins(entry_points=[], env={})
        async with ScriptedOrchestrator(PyWattModule(None), plugins=plugins) as orch:
            await orch.expect("announce")
            for line in batch:
                raw = line if isinstance(line, bytes) else line.encode()
                # Shutdown would end the run early; everything else must be survived.
                if b'"shutdown"' not in raw:
                    await orch.send_raw(raw + b"\n")
            await orch.send({"op": "rotated", "keys": [], "rotation_id": "final"})
            while True:
                msg = await orch.receive()
                if msg.get("rotation_id") == "final":
                    break
            assert (await orch.context()).stop.stopping is False
        for raw in orch.lines:
            parsed = json.loads(raw)
            assert "op" in parsed or ("content" in parsed and "metadata" in parsed)

    anyio.run(scenario)
