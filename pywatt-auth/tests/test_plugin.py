from __future__ import annotations

import pytest

from pywatt.auth import JwtAuthenticator, JwtSettings, ProxyAuthenticator, build_authenticator
from pywatt.auth.authenticators import Credentials
from pywatt.auth.testing import check_authenticator, mint
from pywatt.core.plugins import get_plugins, reset_plugins

from .conftest import good_claims, settings_dict


@pytest.fixture(autouse=True)
def fresh_plugins():
    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_entry_point_loads_from_its_distribution():
    info = next(p for p in get_plugins().plugins() if p.name == "auth")
    assert info.distribution == "pywatt-auth"
    assert info.module == "pywatt.auth.plugin"
    assert info.registered == {"authenticator": ["jwt", "proxy"]}


def test_build_authenticator_follows_the_settings_source(keys):
    assert isinstance(
        build_authenticator("jwt", JwtSettings(**settings_dict(keys))), JwtAuthenticator
    )
    remote = JwtSettings(algorithms=["HS256"], source="orchestrator")
    assert isinstance(build_authenticator("jwt", remote), ProxyAuthenticator)


def test_an_unknown_authenticator_lists_the_installed_ones():
    from pywatt.core.errors import UnknownComponentError

    with pytest.raises(UnknownComponentError, match="jwt, proxy"):
        build_authenticator("kerberos")


@pytest.mark.anyio
async def test_the_jwt_authenticator_passes_the_kit(keys):
    token = mint(good_claims(), keys.hmac, kid="k1")
    expired = mint(good_claims(exp=1), keys.hmac, kid="k1")
    await check_authenticator(
        build_authenticator("jwt", settings_dict(keys)),
        accepted=Credentials.bearer(token),
        refused=[
            Credentials.bearer(expired),
            Credentials.bearer("x.y.z"),
            Credentials(headers={"authorization": f"Basic {token}"}),
        ],
        expected_claims={"sub": "user-1"},
    )


@pytest.mark.anyio
async def test_the_kit_fails_an_authenticator_that_accepts_anything():
    class Lax:
        scheme = "lax"

        async def authenticate(self, credentials):
            return {"sub": "anyone"}

        def authenticate_sync(self, credentials):
            return {"sub": "anyone"}

    with pytest.raises(AssertionError, match="no credentials was accepted"):
        await check_authenticator(Lax(), accepted=Credentials(), refused=[])
