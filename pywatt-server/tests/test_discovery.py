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
