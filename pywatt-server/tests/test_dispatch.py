from __future__ import annotations

import logging

import anyio
import pytest

from pywatt.core.serving import HttpExchangeRequest, HttpExchangeResponse
from pywatt.server import AsgiRunner, StarletteAdapter

pytestmark = pytest.mark.anyio

JSON_500 = b'{"status":"error","data":null,"message":"Internal Server Error"}'


def req(method: str, uri: str, body: bytes = b"", **headers: str) -> HttpExchangeRequest:
    return HttpExchangeRequest(method, uri, headers, body)


@pytest.mark.parametrize(
    ("method", "uri", "headers", "detail"),
    [
        ("GE T", "/greet/x", {}, "invalid method"),
        ("", "/greet/x", {}, "invalid method"),
        ("GET", "greet/x", {}, "invalid URI"),
        ("GET", "/greet/a b", {}, "invalid URI"),
        ("GET", "/gr\u00e9et", {}, "invalid URI"),
        ("GET", "/greet/x", {"bad name": "1"}, "invalid header name"),
        ("GET", "/greet/x", {"x-evil": "a\r\nb"}, "invalid value"),
        ("GET", "/greet/x", {"x-snow": "\u2603"}, "not latin-1"),
    ],
)
async def test_invalid_requests_get_a_json_400(runner, method, uri, headers, detail):
    response = await runner.handle(HttpExchangeRequest(method, uri, headers, b""))
    assert response.status == 400
    assert response.headers["content-type"] == "application/json"
    assert response.body.startswith(b'{"status":"error","data":null,"message":"Bad Request: ')
    assert detail.encode() in response.body


async def test_absolute_uri_and_fragment_are_reduced_to_path_and_query(runner):
    response = await runner.handle(req("GET", "http://example.com/echo-query?q=1#frag"))
    assert response.status == 200
    assert response.body == b'{"query":[["q","1"]]}'


async def test_an_app_that_never_answers_is_a_500(caplog):
    async def silent(scope, receive, send):
        return None

    response = await AsgiRunner(silent).handle(req("GET", "/"))
    assert (response.status, response.body) == (500, JSON_500)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "app returned without sending a response for GET /"
    ]


async def test_an_app_that_stops_mid_response_is_a_500(caplog):
    async def half(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})

    response = await AsgiRunner(half).handle(req("GET", "/"))
    assert (response.status, response.body) == (500, JSON_500)
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


async def test_a_deliberate_500_passes_through_unchanged():
    async def deliberate(scope, receive, send):
        await send({"type": "http.response.start", "status": 500, "headers": [(b"x-a", b"1")]})
        await send({"type": "http.response.body", "body": b"my own 500"})

    response = await AsgiRunner(deliberate).handle(req("GET", "/"))
    assert (response.status, response.body, response.headers) == (500, b"my own 500", {"x-a": "1"})


async def test_scope_carries_the_request_as_asgi_expects():
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)
        seen["message"] = await receive()
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [(b"X-Dup", b"1"), (b"x-dup", b"2"), (b"Set-Cookie", b"k=v")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    request = HttpExchangeRequest(
        "PUT", "/a%20b/c?x=%2F&y", {"X-Mixed": "Caf\u00e9", "Content-Length": "99"}, b"abc"
    )
    response = await AsgiRunner(app).handle(request)
    assert response == HttpExchangeResponse(204, {"x-dup": "2", "set-cookie": "k=v"}, b"")
    assert seen["method"] == "PUT"
    assert seen["path"] == "/a b/c"
    assert seen["raw_path"] == b"/a%20b/c"
    assert seen["query_string"] == b"x=%2F&y"
    assert seen["root_path"] == ""
    assert seen["http_version"] == "1.1"
    assert seen["scheme"] == "http"
    # The declared length is replaced by the real one, names are lowercase latin-1 bytes.
    assert seen["headers"] == [
        (b"x-mixed", "Caf\u00e9".encode("latin-1")),
        (b"content-length", b"3"),
    ]
    assert seen["message"] == {"type": "http.request", "body": b"abc", "more_body": False}


async def test_streaming_responses_are_collected_whole():
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def chunks():
        for i in range(5):
            yield f"chunk{i};".encode()

    async def stream(request):
        return StreamingResponse(chunks(), media_type="text/plain")

    runner = StarletteAdapter().wrap(Starlette(routes=[Route("/s", stream)]))
    response = await runner.handle(req("GET", "/s"))
    assert response.status == 200
    assert response.body == b"chunk0;chunk1;chunk2;chunk3;chunk4;"


async def test_an_error_response_sent_before_raising_passes_through(caplog):
    async def handler_then_raise(scope, receive, send):
        # What Starlette does with an exception_handler(Exception): answer, then re-raise.
        await send({"type": "http.response.start", "status": 500, "headers": [(b"x-own", b"1")]})
        await send({"type": "http.response.body", "body": b"my handler's 500"})
        raise RuntimeError("after the answer")

    response = await AsgiRunner(handler_then_raise).handle(req("GET", "/"))
    assert (response.status, response.body, response.headers) == (
        500,
        b"my handler's 500",
        {"x-own": "1"},
    )
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None


async def test_respond_gets_the_response_while_the_app_still_works():
    release = anyio.Event()
    seen: list[str] = []

    async def with_background(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await send({"type": "http.response.body", "body": b" and last", "more_body": False})
        await release.wait()  # background work after the response
        seen.append("background done")

    async def respond(response: HttpExchangeResponse) -> None:
        seen.append(f"replied {response.body.decode()}")
        release.set()

    response = await AsgiRunner(with_background).handle(req("GET", "/"), respond)
    assert response.body == b"first and last"
    assert seen == ["replied first and last", "background done"]


async def test_head_keeps_the_headers_and_drops_the_body():
    async def page(scope, receive, send):
        headers = [(b"content-length", b"4"), (b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"page"})

    response = await AsgiRunner(page).handle(req("HEAD", "/"))
    assert response == HttpExchangeResponse(
        200, {"content-length": "4", "content-type": "text/plain"}, b""
    )
