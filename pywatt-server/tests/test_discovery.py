from __future__ import annotations

from fastapi import APIRouter, FastAPI
from flask import Blueprint, Flask
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.responses import PlainTextResponse
from starlette.routing import Host, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from pywatt.core.serving import DiscoveredEndpoint as E
from pywatt.server import (
    AUTH_ATTRIBUTE,
    FlaskAdapter,
    StarletteAdapter,
    requires_auth,
)


async def plain(request):
    return PlainTextResponse("x")


@requires_auth()
async def secret(request):
    return PlainTextResponse("s")


class Items(HTTPEndpoint):
    async def get(self, request):
        return PlainTextResponse("items")

    async def post(self, request):
        return PlainTextResponse("made")


async def ws(websocket):
    await websocket.close()


def test_starlette_routes_follow_mounts_and_hosts(tmp_path):
    inner = [Route("/users/{user_id:int}", plain), Route("/secret", secret, methods=["POST"])]
    app = Starlette(
        routes=[
            Route("/", plain),
            Route("/items", Items),
            Mount("/api", routes=[Mount("/v1", routes=inner)]),
            Mount("/static", app=StaticFiles(directory=tmp_path)),
            Host("api.example.com", app=Starlette(routes=[Route("/hosted", plain)])),
            WebSocketRoute("/ws", ws),
        ]
    )
    assert StarletteAdapter().wrap(app).endpoints() == [
        E("/", ("GET",)),
        E("/items", ("GET", "POST")),
        E("/api/v1/users/{user_id}", ("GET",)),
        E("/api/v1/secret", ("POST",), "jwt"),
        E("/static/{path}", ("GET",)),
        E("/hosted", ("GET",)),
    ]


def test_fastapi_routes_merge_by_path_and_carry_auth():
    app = FastAPI(openapi_url=None)
    router = APIRouter(prefix="/orders")

    @router.get("/{order_id}")
    async def get_order(order_id: int) -> dict[str, int]:
        return {"id": order_id}

    @router.delete("/{order_id}")
    async def delete_order(order_id: int) -> None:
        return None

    @app.post("/login")
    async def login() -> None:
        return None

    async def admin() -> None:
        return None

    setattr(admin, AUTH_ATTRIBUTE, "api-key")
    app.add_api_route("/admin", admin, methods=["put", "patch"])
    app.include_router(router)
    assert StarletteAdapter().wrap(app).endpoints() == [
        E("/login", ("POST",)),
        E("/admin", ("PATCH", "PUT"), "api-key"),
        E("/orders/{order_id}", ("DELETE", "GET")),
    ]


def test_fastapi_docs_routes_are_real_routes_too():
    paths = [e.path for e in StarletteAdapter().wrap(FastAPI()).endpoints()]
    assert paths == ["/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"]


def test_flask_converters_become_braces_and_automatic_methods_go():
    app = Flask("discovery")

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> str:
        return "u"

    @app.route(
        "/files/<path:name>", methods=["GET", "PUT", "OPTIONS"], provide_automatic_options=False
    )
    def files(name: str) -> str:
        return "f"

    @app.route("/codes/<string(length=2):code>/<slug>", methods=["POST"])
    @requires_auth("jwt")
    def codes(code: str, slug: str) -> str:
        return "c"

    shop = Blueprint("shop", "shop", url_prefix="/shop")

    @shop.get("/")
    def shop_index() -> str:
        return "shop"

    @shop.post("/")
    def shop_create() -> str:
        return "made"

    app.register_blueprint(shop)
    assert FlaskAdapter().wrap(app).endpoints() == [
        E("/users/{user_id}", ("GET",)),
        E("/files/{name}", ("GET", "OPTIONS", "PUT")),
        E("/codes/{code}/{slug}", ("POST",), "jwt"),
        E("/shop/", ("GET", "POST")),
    ]


def test_a_plain_asgi_app_has_no_discoverable_routes():
    async def app(scope, receive, send):
        return None

    assert StarletteAdapter().wrap(app).endpoints() == []


def _enforcing(func, scheme="jwt"):
    from pywatt.server.discovery import ENFORCED_ATTRIBUTE

    setattr(func, AUTH_ATTRIBUTE, scheme)
    setattr(func, ENFORCED_ATTRIBUTE, True)
    return func


def test_an_announce_claiming_unenforced_auth_is_refused():
    import pytest

    from pywatt.core.errors import ConfigError
    from pywatt.core.messages import EndpointInfo

    app = Starlette(
        routes=[
            Route("/claimed", secret),
            Route("/enforced", _enforcing(lambda request: PlainTextResponse("e"))),
        ]
    )
    runner = StarletteAdapter().wrap(app)
    announced = runner.endpoints()
    assert {e.path: e.auth for e in announced} == {"/claimed": "jwt", "/enforced": "jwt"}
    with pytest.raises(ConfigError, match=r"nothing protects: /claimed \(auth 'jwt'\)"):
        runner.check_announced(announced)
    runner.check_announced([e for e in announced if e.path == "/enforced"])
    explicit = [EndpointInfo(path="/enforced", methods=["GET"], auth="apikey")]
    with pytest.raises(ConfigError, match="/enforced"):
        runner.check_announced(explicit)


def test_guards_on_an_app_announce_and_enforce_their_paths():
    from pywatt.server.discovery import AUTH_GUARDS_ATTRIBUTE, starlette_endpoints

    app = Starlette(routes=[Route("/api/x", plain), Route("/open", plain)])
    setattr(app, AUTH_GUARDS_ATTRIBUTE, [("jwt", lambda path: path.startswith("/api/"))])
    for enforced_only in (False, True):
        found = starlette_endpoints(app, enforced_only=enforced_only)
        assert {e.path: e.auth for e in found} == {"/api/x": "jwt", "/open": None}


def test_flask_enforced_only_ignores_claims():
    from pywatt.server.discovery import flask_endpoints

    app = Flask("t")
    app.add_url_rule("/claimed", "claimed", requires_auth()(lambda: "c"))
    app.add_url_rule("/enforced", "enforced", _enforcing(lambda: "e"))
    found = {e.path: e.auth for e in flask_endpoints(app, enforced_only=True)}
    assert found == {"/claimed": None, "/enforced": "jwt"}
