"""Real module processes under the dev orchestrator: every attack gets a bare 401, over stdio
and over the socket, with its reason logged and no token text on stderr."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pywatt.auth.testing import mint
from pywatt.cli.orchestrator import ModuleLog, ModuleSpec, Orchestrator, SecretSource

from .conftest import AUDIENCE, ISSUER, attack_cases, good_claims

MODULES = Path(__file__).with_name("modules")

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


def module_settings(**extra) -> str:
    return json.dumps(
        {
            "algorithms": ["HS256", "RS256"],
            "secret": "JWT_KEYS",
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "required_claims": ["sub"],
            **extra,
        }
    )


def refusals(logs: list[ModuleLog], module_id: str) -> list[str]:
    return [
        log.fields.get("reason", "?")
        for log in logs
        if log.module_id == module_id and log.message.startswith("request refused")
    ]


@pytest.mark.parametrize("framework", ["fastapi", "flask"])
async def test_attack_table_over_stdio_and_socket(framework, keys):
    now = time.time()
    cases = attack_cases(keys, now)
    logs: list[ModuleLog] = []
    secrets = SecretSource.from_dict({"JWT_KEYS": keys.jwks})
    async with Orchestrator(secrets, log_sink=logs.append) as orch:
        spec = ModuleSpec.for_script(
            MODULES / f"secure_{framework}.py", env={"AUTH_SETTINGS": module_settings()}
        )
        module = await orch.start(spec)
        announced = {e.path: e.auth for e in module.endpoints}
        assert (announced["/me"], announced["/health"]) == ("jwt", None)
        good = mint(good_claims(), keys.hmac, kid="k1")
        rs = mint(good_claims(), keys.rsa_private, "RS256", kid="r1")

        async def send(transport: str, token: str | None):
            headers = {} if token is None else {"authorization": f"Bearer {token}"}
            if transport == "stdio":
                return await module.http("GET", "/me", headers=headers)
            return await orch.http_via_socket(module.module_id, "GET", "/me", headers=headers)

        for transport in ("stdio", "socket"):
            for token in (good, rs):
                ok = await send(transport, token)
                assert (ok.status, ok.json()) == (200, {"sub": "user-1"}), transport
            before = len(refusals(logs, module.module_id))
            for case in cases:
                reply = await send(transport, case.token)
                assert reply.status == 401, (transport, case.name)
                challenge = {k.lower(): v for k, v in reply.headers.items()}["www-authenticate"]
                assert challenge == 'Bearer error="invalid_token"', (transport, case.name)
                # Nothing beyond the status: Flask sends no body, FastAPI its generic phrase.
                assert reply.body in (b"", b'{"detail":"Unauthorized"}'), (transport, case.name)
            missing = await send(transport, None)
            assert missing.status == 401
            await module.wait_log(lambda log: log.fields.get("reason") == "missing_token")
            got = refusals(logs, module.module_id)[before:]
            assert got == [c.reason for c in cases] + ["missing_token"], transport
    stderr = "\n".join(log.raw for log in logs)
    for case in cases:
        for part in case.token.split("."):
            if len(part) >= 16:
                assert part not in stderr, f"{case.name}: token text on stderr"
    assert good.split(".")[2] not in stderr


@pytest.mark.parametrize("framework", ["fastapi", "flask"])
async def test_rotation_mid_traffic_honours_the_overlap(framework):
    import anyio
    from joserfc.jwk import OctKey

    old_secret, new_secret = "o" * 40, "n" * 40
    old = mint(good_claims(), OctKey.import_key(old_secret.encode()))
    new = mint(good_claims(), OctKey.import_key(new_secret.encode()))
    overlap = 2.0
    statuses: list[int] = []
    logs: list[ModuleLog] = []
    secrets = SecretSource.from_dict({"JWT_SECRET": old_secret})
    async with Orchestrator(secrets, log_sink=logs.append) as orch:
        settings = module_settings(
            algorithms=["HS256"], secret="JWT_SECRET", rotation_overlap=overlap
        )
        module = await orch.start(
            ModuleSpec.for_script(
                MODULES / f"secure_{framework}.py", env={"AUTH_SETTINGS": settings}
            )
        )

        async def status(token: str) -> int:
            reply = await module.http("GET", "/me", headers={"authorization": f"Bearer {token}"})
            return reply.status

        assert await status(old) == 200
        assert await status(new) == 401
        stop = anyio.Event()

        async def traffic() -> None:
            while not stop.is_set():
                statuses.append(await status(old))
                statuses.append(await status(new))

        async with anyio.create_task_group() as tg:
            tg.start_soon(traffic)
            await anyio.sleep(0.2)
            ack = await module.rotate({"JWT_SECRET": new_secret})
            rotated_at = time.monotonic()
            assert ack.status == "success"
            # The keys are swapped before the ack: the new key verifies at once.
            assert await status(new) == 200
            assert await status(old) == 200
            assert time.monotonic() - rotated_at < overlap, "the overlap check ran too late"
            await anyio.sleep(overlap + 0.3)
            assert await status(old) == 401
            assert await status(new) == 200
            stop.set()
        assert statuses, "no traffic ran"
        assert all(s in (200, 401) for s in statuses), sorted(set(statuses))
        assert refusals(logs, module.module_id)[-1] == "bad_signature"


async def test_announcing_auth_that_nothing_enforces_fails_startup():
    from pywatt.cli.orchestrator import ModuleStartError

    logs: list[ModuleLog] = []
    async with Orchestrator(SecretSource(), log_sink=logs.append) as orch:
        with pytest.raises(ModuleStartError):
            await orch.start(ModuleSpec.for_script(MODULES / "claims_only.py"))
    text = "\n".join(log.message for log in logs)
    assert "announced as protected but nothing protects: /admin (auth 'jwt')" in text
