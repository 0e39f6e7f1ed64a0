"""pywatt-auth with everything installed: the registry, a third-party authenticator, extras."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys

import httpx
import pytest
from fastapi import FastAPI

from pywatt.auth import Credentials, build_authenticator
from pywatt.auth.middleware import protect
from pywatt.auth.testing import check_authenticator
from pywatt.core.plugins import reset_plugins

from .test_plugin_discovery import run_pywatt

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(autouse=True)
def without_the_broken_plugin(monkeypatch):
    monkeypatch.setenv("PYWATT_DISABLED_PLUGINS", "broken")
    reset_plugins()
    yield
    reset_plugins()


def test_pywatt_plugins_lists_the_authenticators():
    result = run_pywatt("plugins", PYWATT_DISABLED_PLUGINS="broken")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    auth = text[text.index("auth (pywatt-auth") :]
    assert auth.splitlines()[1].strip() == "authenticator: jwt, proxy"
    apikey = text[text.index("apikey (pywatt-apikey 0.3.0)") :]
    assert apikey.splitlines()[1].strip() == "authenticator: apikey"


async def test_third_party_api_key_authenticator_passes_the_kit():
    auth = build_authenticator("apikey", {"key-for-ada-0123456789": "ada"})
    await check_authenticator(
        auth,
        accepted=Credentials(headers={"x-api-key": "key-for-ada-0123456789"}),
        refused=[Credentials(headers={"x-api-key": "not-a-known-key-9876"})],
        expected_claims={"sub": "ada"},
    )


async def test_third_party_authenticator_guards_a_fastapi_app_like_jwt():
    auth = build_authenticator("apikey", {"key-for-ada-0123456789": "ada"})
    app = FastAPI()
    protect(app, auth, paths=["/api/*"])

    @app.get("/api/me")
    async def me():
        return {"ok": True}

    from pywatt.server.discovery import starlette_endpoints

    assert {e.path: e.auth for e in starlette_endpoints(app)}["/api/me"] == "apikey"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/api/me", headers={"x-api-key": "key-for-ada-0123456789"})).json()
        refused = await c.get("/api/me", headers={"x-api-key": "nope-nope-nope"})
        assert refused.status_code == 401


def test_pywatt_auth_needs_no_web_framework():
    unconditional = [r for r in md.requires("pywatt-auth") or [] if "extra ==" not in r]
    names = {r.split(">")[0].split("=")[0].split("[")[0].strip().lower() for r in unconditional}
    assert names == {"pywatt-core", "joserfc"}
    code = (
        "import sys, pywatt.auth, pywatt.auth.middleware, pywatt.auth.plugin;"
        "print(sorted(m for m in ('starlette','flask','fastapi') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
