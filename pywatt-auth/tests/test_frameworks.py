"""One authenticator serves the middleware, the FastAPI dependency and the Flask extension."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from fastapi import Depends, FastAPI
from flask import Flask, g, jsonify
from pydantic import BaseModel

from pywatt.auth import JwtAuthenticator, JwtSettings
from pywatt.auth.dependency import require_jwt
from pywatt.auth.extension import JwtAuth, jwt_required
from pywatt.auth.middleware import protect
from pywatt.auth.testing import mint
from pywatt.server.discovery import flask_endpoints, starlette_endpoints

from .conftest import good_claims, settings_dict

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


class User(BaseModel):
    sub: str
    scope: str = ""


def fastapi_app(auth):
    app = FastAPI()
    protect(app, auth, paths=["/guarded/*"], exclude=["/guarded/open"])

    @app.get("/me")
    async def me(user: User = Depends(require_jwt(auth, model=User))):  # noqa: B008
        return {"sub": user.sub}

    @app.get("/admin")
    async def admin(claims: dict = Depends(require_jwt(auth, scopes=["admin"]))):  # noqa: B008
        return {"sub": claims["sub"]}

    @app.get("/guarded/thing")
    async def guarded():
        return {"ok": True}

    @app.get("/guarded/open")
    async def guarded_open():
        return {"ok": True}

    @app.get("/public")
    async def public():
        return {"ok": True}

    return app


def flask_app(auth):
    app = Flask("auth_test")
    JwtAuth(app, auth)

    @app.get("/me")
    @jwt_required
    def me():
        return jsonify(sub=g.auth_claims["sub"])

    @app.get("/admin")
    @jwt_required(scopes=["admin"])
    def admin():
        return jsonify(sub=g.auth_claims["sub"])

    @app.get("/public")
    def public():
        return jsonify(ok=True)

    return app


@pytest.fixture
def auth(keys):
    return JwtAuthenticator(JwtSettings(**settings_dict(keys)))


async def test_fastapi_dependency_and_middleware(auth, keys, caplog):
    app = fastapi_app(auth)
    token = mint(good_claims(), keys.hmac, kid="k1")
    admin = mint(good_claims(scope="read admin"), keys.hmac, kid="k1")
    bearer = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/me", headers=bearer)).json() == {"sub": "user-1"}
        assert (await client.get("/public")).status_code == 200
        assert (await client.get("/guarded/open")).status_code == 200
        assert (await client.get("/guarded/thing", headers=bearer)).status_code == 200
        with caplog.at_level(logging.WARNING, logger="pywatt.auth"):
            expired = mint(good_claims(exp=int(time.time()) - 5), keys.hmac, kid="k1")
            for path in ("/me", "/guarded/thing"):
                refused = await client.get(path, headers={"Authorization": f"Bearer {expired}"})
                assert refused.status_code == 401
                assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
            missing = await client.get("/me")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        forbidden = await client.get("/admin", headers=bearer)
        assert forbidden.status_code == 403
        assert 'error="insufficient_scope"' in forbidden.headers["www-authenticate"]
        ok = await client.get("/admin", headers={"Authorization": f"Bearer {admin}"})
        assert ok.status_code == 200
        schema = (await client.get("/openapi.json")).json()
    reasons = [r.reason for r in caplog.records if hasattr(r, "reason")]
    assert reasons[:3] == ["expired", "expired", "missing_token"]
    assert all(expired not in r.getMessage() for r in caplog.records)
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert schema["paths"]["/me"]["get"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in schema["paths"]["/public"]["get"]


def test_fastapi_routes_are_announced_with_auth(auth):
    announced = {e.path: e.auth for e in starlette_endpoints(fastapi_app(auth))}
    assert announced["/me"] == "jwt"
    assert announced["/admin"] == "jwt"
    assert announced["/guarded/thing"] == "jwt"
    assert announced["/guarded/open"] is None
    assert announced["/public"] is None


def test_flask_extension_puts_claims_on_g(auth, keys, caplog):
    client = flask_app(auth).test_client()
    token = mint(good_claims(), keys.hmac, kid="k1")
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).json == {"sub": "user-1"}
    with caplog.at_level(logging.WARNING, logger="pywatt.auth"):
        bad = client.get("/me", headers={"Authorization": "Bearer a.b"})
    assert bad.status_code == 401
    assert bad.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert bad.data == b""
    assert [r.reason for r in caplog.records] == ["malformed"]
    assert client.get("/admin", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert client.get("/public").status_code == 200


def test_flask_routes_are_announced_with_auth(auth):
    announced = {e.path: e.auth for e in flask_endpoints(flask_app(auth))}
    assert announced == {"/me": "jwt", "/admin": "jwt", "/public": None}


def test_cookie_token_location(keys):
    settings = JwtSettings(**settings_dict(keys), token_location="cookie", cookie_name="at")
    client = flask_app(JwtAuthenticator(settings)).test_client()
    token = mint(good_claims(), keys.hmac, kid="k1")
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    client.set_cookie("at", token)
    assert client.get("/me").status_code == 200


async def test_middleware_guards_websockets_too(auth, keys):
    from pywatt.auth.middleware import JwtMiddleware

    async def inner(scope, receive, send):
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": scope["state"]["auth_claims"]["sub"]})

    app = JwtMiddleware(inner, auth, paths=["/ws"])

    async def handshake(headers):
        sent = []

        async def receive():
            return {"type": "websocket.connect"}

        async def send(message):
            sent.append(message)

        scope = {"type": "websocket", "path": "/ws", "headers": headers, "query_string": b""}
        await app(scope, receive, send)
        return sent

    token = mint(good_claims(), keys.hmac, kid="k1")
    accepted = await handshake([(b"authorization", f"Bearer {token}".encode())])
    assert accepted == [
        {"type": "websocket.accept"},
        {"type": "websocket.send", "text": "user-1"},
    ]
    assert await handshake([]) == [{"type": "websocket.close", "code": 1008}]
