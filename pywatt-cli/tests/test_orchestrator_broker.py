"""The dev orchestrator hands its broker URL to every module it starts."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import pytest

from pywatt.cli.orchestrator import ModuleSpec, Orchestrator
from pywatt.core.errors import ConfigError

pytestmark = pytest.mark.anyio

MODULE = """
import json, os, sys
from pywatt.core.module import PyWattModule

def record(config, secrets):
    with open(sys.argv[1], "w") as f:
        json.dump({"init": config.env.get("PYWATT_BROKER_URL"),
                   "environ": os.environ.get("PYWATT_BROKER_URL")}, f)

PyWattModule(None, state=record).run()
"""


async def test_every_module_gets_the_broker_url_and_one_without_a_broker_plugin_starts(
    tmp_path,
):
    script = tmp_path / "mod.py"
    script.write_text(MODULE)
    out = tmp_path / "seen.json"
    url = "nats://127.0.0.1:4222"
    async with Orchestrator(broker_url=url) as orch:
        spec = ModuleSpec([sys.executable, str(script), str(out)], module_id="m")
        handle = await orch.start(spec)  # announced: no broker plugin is not a failure here
        assert await handle.stop(timeout=10) == 0
    assert json.loads(out.read_text()) == {"init": url, "environ": url}


def test_a_memory_broker_is_refused_for_a_second_module():
    orch = Orchestrator(broker_url="memory://")
    first = ModuleSpec(["python"], module_id="a")
    assert orch._with_broker(first).env == {"PYWATT_BROKER_URL": "memory://"}
    orch.modules["a"] = SimpleNamespace(module_id="a", active=True)  # type: ignore[assignment]
    with pytest.raises(ConfigError, match="memory:// broker lives inside one process"):
        orch._with_broker(ModuleSpec(["python"], module_id="b"))
    assert orch._with_broker(first).env["PYWATT_BROKER_URL"] == "memory://"  # a restart


def test_a_module_keeps_its_own_broker_url():
    orch = Orchestrator(broker_url="nats://a:4222")
    spec = ModuleSpec(["python"], module_id="a", env={"PYWATT_BROKER_URL": "redis://b"})
    assert orch._with_broker(spec).env == {"PYWATT_BROKER_URL": "redis://b"}
