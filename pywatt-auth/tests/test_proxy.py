"""The ``proxy`` authenticator against the dev orchestrator's Jwt service, over real lines."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from joserfc.jwk import OctKey

from pywatt.auth import JwtSettings, ProxyAuthenticator
from pywatt.auth.authenticators import Credentials
from pywatt.auth.testing import check_authenticator, mint
from pywatt.cli.orchestrator import ModuleLog, ModuleSpec, Orchestrator, SecretSource
from pywatt.cli.orchestrator.loopback import service_loopback
from pywatt.cli.orchestrator.service_backends import ServiceBackends

MODULES = Path(__file__).with_name("modules")
SECRET = "s" * 40
KEY = OctKey.import_key(SECRET.encode())

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


def claims(**extra):
    now = int(time.time())
    return {"iss": "pywatt-tests", "sub": "user-1", "iat": now, "exp": now + 600, **extra}


async def test_proxy_passes_the_kit_through_the_service_lines():
    backends = ServiceBackends()
    backends.secrets = SecretSource.from_dict({"JWT_SECRET": SECRET})
    async with service_loopback(backends) as client:
        auth = ProxyAuthenticator(
            JwtSettings(algorithms=["HS256"], source="orchestrator", issuer="pywatt-tests"),
            client=client,
        )
        await check_authenticator(
            auth,
            accepted=Credentials.bearer(mint(claims(), KEY)),
            refused=[
                Credentials.bearer(mint(claims(exp=1), KEY)),
                Credentials.bearer(mint(claims(iss="elsewhere"), KEY)),
                Credentials.bearer(mint(claims(), OctKey.import_key(b"w" * 40))),
            ],
            expected_claims={"sub": "user-1"},
        )
        minted = await auth.generate(claims(sub="minted"))
        assert (await auth.validate(minted))["sub"] == "minted"
        await auth.close()
    await backends.aclose()


async def test_proxy_module_against_the_dev_orchestrator():
    logs: list[ModuleLog] = []
    lines: list[dict] = []
    secrets = SecretSource.from_dict({"JWT_SECRET": SECRET})
    async with Orchestrator(secrets, log_sink=logs.append) as orch:
        module = await orch.start(ModuleSpec.for_script(MODULES / "proxy_fastapi.py"))
        read = module.handle_line

        async def tap(line: bytes):
            if b'"op":"service_' in line[:40]:
                lines.append(json.loads(line))
            return await read(line)

        module.handle_line = tap  # type: ignore[method-assign]
        good = mint(claims(), KEY)
        ok = await module.http("GET", "/me", headers={"authorization": f"Bearer {good}"})
        assert (ok.status, ok.json()) == (200, {"sub": "user-1"})
        expired = mint(claims(exp=int(time.time()) - 5), KEY)
        refused = await module.http("GET", "/me", headers={"authorization": f"Bearer {expired}"})
        assert refused.status == 401
        assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        await module.wait_log(lambda log: log.fields.get("reason") == "expired")
        body = json.dumps(claims(sub="minted")).encode()
        minted = await module.http("POST", "/token", {"content-type": "application/json"}, body)
        token = minted.json()["token"]
        again = await module.http("GET", "/me", headers={"authorization": f"Bearer {token}"})
        assert again.json() == {"sub": "minted"}
        assert (await module.http("POST", "/close")).json() == {"closed": True}
    request, *operations = lines
    assert list(request) == ["op", "id", "service_type", "config"]
    assert request["op"] == "service_request"
    assert request["id"].startswith("jwt_request_")
    assert request["service_type"] == "Jwt"
    assert request["config"] == {"config": {"algorithms": ["HS256"], "issuer": "pywatt-tests"}}
    shapes = [(o["op"], o["service_type"], o["operation"], sorted(o["params"])) for o in operations]
    assert shapes == [
        ("service_operation", "Jwt", "validate", ["token"]),
        ("service_operation", "Jwt", "validate", ["token"]),
        ("service_operation", "Jwt", "generate", ["claims"]),
        ("service_operation", "Jwt", "validate", ["token"]),
        ("service_operation", "Jwt", "close", []),
    ]
    assert all(
        list(o) == ["op", "connection_id", "service_type", "operation", "params"]
        for o in operations
    )
    assert operations[0]["params"] == {"token": good}
    assert len({o["connection_id"] for o in operations}) == 1
    stderr = "\n".join(log.raw for log in logs)
    assert good.split(".")[2] not in stderr
    assert expired.split(".")[2] not in stderr
