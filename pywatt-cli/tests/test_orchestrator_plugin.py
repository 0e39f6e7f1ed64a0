"""The pytest plugin module authors use, exercised the way they would use it."""

from __future__ import annotations

import textwrap

import pytest

from pywatt.cli.pytest_plugin import run_module

MODULE = textwrap.dedent("""\
    from pywatt.core import PyWattModule

    async def build(config, secrets):
        return {"key": secrets["API_KEY"]}

    app = PyWattModule(None, secrets=["API_KEY"], state=build)

    if __name__ == "__main__":
        app.run()
""")


@pytest.fixture
def module_path(tmp_path):
    path = tmp_path / "keyed.py"
    path.write_text(MODULE)
    return path


@pytest.mark.anyio
async def test_factory_starts_a_module_with_secrets(pywatt_module_factory, module_path):
    module = await pywatt_module_factory(module_path, secrets={"API_KEY": "k"}, env={"A": "1"})
    assert module.module_id == "keyed"
    assert module.listen is not None
    ack = await module.rotate({"API_KEY": "k2"})
    assert ack.status == "success"
    reply = await module.http("GET", "/")
    assert reply.status == 404


@pytest.mark.anyio
async def test_secrets_fixture_is_read_live(pywatt_secrets, pywatt_orchestrator, module_path):
    from pywatt.cli.orchestrator import ModuleSpec

    pywatt_secrets["API_KEY"] = "late"
    module = await pywatt_orchestrator.start(ModuleSpec.for_script(module_path))
    assert pywatt_orchestrator.secrets.get("API_KEY") == "late"
    assert await module.stop() == 0


def test_run_module_from_sync_code(module_path):
    with run_module(module_path, secrets={"API_KEY": "s"}) as module:
        assert module.http("GET", "/x").status == 404
        assert module.rotate({"API_KEY": "t"}).status == "success"
        pid = module.handle.pid
        assert module.stop() == 0
    assert pid is not None
