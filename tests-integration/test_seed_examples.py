"""The seed plan's examples, run as a new user would: in pywatt's form, and in the seed's where
an alias exists (docs/seed.md maps every name).

- the server-lifecycle example: ``await`` the module inside a running program, an
  ``APIRouter`` from the router builder, ``expose_secret()``, ``framework="fastapi"`` and
  ``EndpointInfo`` from ``pywatt.core``;
- the decorator with ``health=``, ``metrics=`` and ``version=``;
- the model-manager example.
"""

from __future__ import annotations

import textwrap

import pytest

from pywatt.cli.orchestrator import ModuleSpec, Orchestrator, SecretSource

pytestmark = pytest.mark.anyio

DATABASE_URL = "postgresql://seed:hunter2@127.0.0.1/seed"

# The seed's "Server Lifecycle Management" example, with pywatt's names for its calls.
SERVER_EXAMPLE = textwrap.dedent(
    """
    import anyio
    from pywatt.core import EndpointInfo
    from pywatt.core import PyWattModule
    from pywatt.server import ServeOptions

    def build_state(config, secrets):
        return {
            "module_id": config.module_id,
            "database_url": secrets["DATABASE_URL"].expose_secret(),
        }

    def build_router(app_state):
        from fastapi import APIRouter

        router = APIRouter()

        @router.get("/health")
        async def health():
            return {
                "status": "healthy",
                "module": app_state.user["module_id"],
                "has_db": app_state.user["database_url"].startswith("postgresql://"),
            }

        return router

    async def main():
        module = PyWattModule(
            build_router,
            secrets=["DATABASE_URL"],
            endpoints=[EndpointInfo(path="/health", methods=["GET"], auth=None)],
            state=build_state,
            options=ServeOptions(bind_http=True, framework="fastapi"),
        )
        code = await module.serve_async()
        raise SystemExit(code)

    anyio.run(main)
    """
)

# The seed's decorator, with its health=, metrics= and version= options.
DECORATOR_EXAMPLE = textwrap.dedent(
    """
    from fastapi import FastAPI
    from pywatt.core import pywatt_module

    @pywatt_module(secrets=["DATABASE_URL"], health="/health", metrics=True, version="v1")
    def create_app(state):
        app = FastAPI(openapi_url=None)

        @app.get("/items")
        async def items():
            return ["widget"]

        return app

    if __name__ == "__main__":
        create_app.run()
    """
)


def quiet(_log):
    """Module logs stay out of the test output."""


async def test_server_lifecycle_example(tmp_path):
    script = tmp_path / "seed_server.py"
    script.write_text(SERVER_EXAMPLE)
    secrets = SecretSource.from_dict({"DATABASE_URL": DATABASE_URL})
    async with Orchestrator(secrets, log_sink=quiet) as orch:
        handle = await orch.start(ModuleSpec.for_script(script, module_id="seed"))
        reply = await handle.http("GET", "/health")
        assert (reply.status, reply.json()) == (
            200,
            {"status": "healthy", "module": "seed", "has_db": True},
        )
        assert {e.path for e in handle.endpoints} >= {"/health", "/ready"}
        assert (await handle.http("GET", "/ready")).status == 200
        assert await handle.stop() == 0
    assert not any(DATABASE_URL in line.message for line in handle.logs)


async def test_decorator_with_health_metrics_and_version(tmp_path):
    script = tmp_path / "seed_decorator.py"
    script.write_text(DECORATOR_EXAMPLE)
    secrets = SecretSource.from_dict({"DATABASE_URL": DATABASE_URL})
    async with Orchestrator(secrets, log_sink=quiet) as orch:
        handle = await orch.start(ModuleSpec.for_script(script, module_id="seeddeco"))
        assert {e.path for e in handle.endpoints} >= {"/v1/items", "/health", "/metrics"}
        assert (await handle.http("GET", "/v1/items")).json() == ["widget"]
        assert (await handle.http("GET", "/health")).status == 200
        metrics = await handle.http("GET", "/metrics")
        assert 'route="/v1/items"' in metrics.text


def test_model_manager_example():
    from pywatt.models import create_simple_model, generate_complete_sql

    model = (
        create_simple_model("users")
        .add_varchar_column("username", 100, nullable=False, unique=True)
        .add_varchar_column("email", 255, nullable=False, unique=True)
        .add_boolean_column("is_active", nullable=False, default=True)
        .add_timestamps()
        .build()
    )
    for dialect in ("sqlite", "postgres", "mysql"):
        sql = generate_complete_sql(model, dialect)
        assert "CREATE TABLE users" in sql
        assert "username" in sql
        assert "is_active" in sql
