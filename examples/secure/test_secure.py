"""The secure module as a real subprocess: tokens from the README's minting script work."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from pywatt.cli.orchestrator import ModuleHandle
from pywatt.cli.orchestrator.secret_source import parse_dotenv

HERE = Path(__file__).parent
SECRET = parse_dotenv((HERE / ".env").read_text())["JWT_SECRET"]

pytestmark = pytest.mark.anyio

Factory = Callable[..., Awaitable[ModuleHandle]]


def minted(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(HERE / "mint_token.py"), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.fixture
async def secure(pywatt_module_factory: Factory) -> ModuleHandle:
    return await pywatt_module_factory(HERE / "secure.py", secrets={"JWT_SECRET": SECRET})


async def test_routes_announced_with_auth(secure: ModuleHandle) -> None:
    announced = {e.path: e.auth for e in secure.endpoints}
    assert (announced["/me"], announced["/notes"], announced["/public"]) == ("jwt", "jwt", None)


async def test_minted_token_opens_the_protected_routes(secure: ModuleHandle) -> None:
    bearer = {"authorization": f"Bearer {minted('--sub', 'ada')}"}
    assert (await secure.http("GET", "/me", headers=bearer)).json() == {"sub": "ada"}
    assert (await secure.http("GET", "/notes", headers=bearer)).json() == {
        "notes": ["a note for ada"]
    }
    assert (await secure.http("GET", "/public")).status == 200


async def test_refusals(secure: ModuleHandle) -> None:
    missing = await secure.http("GET", "/me")
    assert (missing.status, missing.headers["www-authenticate"]) == (401, "Bearer")
    expired = {"authorization": f"Bearer {minted('--minutes', '-5')}"}
    refused = await secure.http("GET", "/me", headers=expired)
    assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    no_scope = {"authorization": f"Bearer {minted('--scope', 'other')}"}
    assert (await secure.http("GET", "/notes", headers=no_scope)).status == 403
