"""JWKS URLs and OIDC issuers, served by a real HTTP server on the loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc.jwk import ECKey

from pywatt.auth import AuthUnavailableError, JwtSettings, JwtVerifier, UnknownKeyError
from pywatt.auth.testing import mint


class KeyServer:
    def __init__(self) -> None:
        self.jwks: dict = {"keys": []}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": server.url, "jwks_uri": server.url + "/jwks.json"}
                elif self.path == "/jwks.json":
                    body = server.jwks
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def publish(self, *keys: ECKey) -> None:
        self.jwks = {"keys": [k.as_dict(private=False) for k in keys]}


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    server = KeyServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join(5)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", {"kid": kid})


def test_jwks_url_is_cached_and_refetched_for_a_new_kid(key_server):
    clock = Clock()
    first, second = _key("one"), _key("two")
    key_server.publish(first)
    settings = JwtSettings(
        algorithms=["ES256"],
        jwks_url=key_server.url + "/jwks.json",
        jwks_cache_seconds=300,
        jwks_min_refresh_seconds=10,
    )
    verifier = JwtVerifier(settings, clock=clock)
    claims = {"sub": "a", "exp": int(clock.now) + 60}
    assert verifier.verify(mint(claims, first, "ES256", kid="one")) == claims
    assert verifier.verify(mint(claims, first, "ES256", kid="one")) == claims
    assert key_server.hits == ["/jwks.json"], "the second token was served from the cache"
    # The issuer adds a key: an unknown kid fetches the set again, once.
    key_server.publish(first, second)
    clock.now += 11
    assert verifier.verify(mint(claims, second, "ES256", kid="two")) == claims
    assert key_server.hits == ["/jwks.json"] * 2
    # A kid nobody publishes: refused, and the refetch is rate-limited.
    with pytest.raises(UnknownKeyError):
        verifier.verify(mint(claims, second, "ES256", kid="ghost"))
    with pytest.raises(UnknownKeyError):
        verifier.verify(mint(claims, second, "ES256", kid="ghost"))
    assert len(key_server.hits) == 2
    # After the cache time the set is fetched again, and a withdrawn key stops verifying.
    key_server.publish(second)
    clock.now += 301
    with pytest.raises(UnknownKeyError):
        verifier.verify(mint(claims, first, "ES256", kid="one"))
    assert len(key_server.hits) == 3


def test_oidc_issuer_discovery_names_the_jwks(key_server):
    clock = Clock()
    key = _key("oidc")
    key_server.publish(key)
    settings = JwtSettings(algorithms=["ES256"], oidc_issuer=key_server.url, issuer=key_server.url)
    verifier = JwtVerifier(settings, clock=clock)
    claims = {"iss": key_server.url, "sub": "a", "exp": int(clock.now) + 60}
    assert verifier.verify(mint(claims, key, "ES256", kid="oidc")) == claims
    assert key_server.hits == ["/.well-known/openid-configuration", "/jwks.json"]


@pytest.mark.anyio
async def test_async_verify_fetches_in_a_thread(key_server):
    key = _key("k")
    key_server.publish(key)
    verifier = JwtVerifier(
        JwtSettings(algorithms=["ES256"], jwks_url=key_server.url + "/jwks.json")
    )
    claims = {"sub": "a"}
    assert await verifier.averify(mint(claims, key, "ES256", kid="k")) == claims


def test_unreachable_key_server_is_unavailable_not_a_refusal(key_server):
    url = key_server.url + "/missing.json"
    verifier = JwtVerifier(JwtSettings(algorithms=["ES256"], jwks_url=url))
    with pytest.raises(AuthUnavailableError):
        verifier.verify(mint({"sub": "a"}, _key("k"), "ES256", kid="k"))


@pytest.fixture
def anyio_backend():
    return "asyncio"
