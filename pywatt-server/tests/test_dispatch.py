from __future__ import annotations

import logging

import anyio
import pytest

from pywatt.core.serving import HttpExchangeRequest, HttpExchangeResponse
from pywatt.server import AsgiRunner, StarletteAdapter

pytestmark = pytest.mark.anyio

JSON_500 = b'{"status":"error","data":null,"message":"Internal Server Error"}'
# FastAPI answers an unhandled exception with its own 500, which passes through; the Flask
# adapter lets the exception propagate, so no response exists and pywatt writes its JSON 500.
BOOM = {
    "fastapi": (b"Internal Server Error", "text/plain; charset=utf-8"),
    "flask": (JSON_500, "application/json"),
}


def req(method: str, uri: str, body: bytes = b"", **headers: str) -> HttpExchangeRequest:
    return HttpExchangeRequest(method, uri, headers, body)


def _cases(all_bytes: bytes) -> list[HttpExchangeRequest]:
    return [
        req("GET", "/greet/w%C3%B6rld"),
        req("GET", "/echo-query?a=1&b=x%20y&a=2"),
        req("POST", "/echo-body", all_bytes, content_type="application/octet-stream"),
        req("GET", "/teapot"),
        req("GET", "/boom"),
        req("GET", "/nope"),
    ]


async def test_handle_and_socket_answer_identically(
    framework, runner, serve_app, client_for, all_bytes, caplog
):
    await runner.startup()
    try:
        direct = [await runner.handle(r) for r in _cases(all_bytes)]
        async with serve_app(runner) as (address, _stop), client_for(address) as client:
            for request, ipc in zip(_cases(all_bytes), direct, strict=True):
                wire = await client.request(
                    request.method,
                    request.uri,
                    content=request.body,
                    headers={k.replace("_", "-"): v for k, v in request.headers.items()},
                )
                assert wire.status_code == ipc.status, request.uri
                assert wire.content == ipc.body, request.uri
                for name in ("content-type", "x-custom", "x-body-length"):
                    assert wire.headers.get(name) == ipc.headers.get(name), (request.uri, name)
                if "set-cookie" in ipc.headers:
                    assert (
                        ", ".join(wire.headers.get_list("set-cookie")) == ipc.headers["set-cookie"]
                    )
    finally:
        await runner.shutdown()
    greet, query, echo, teapot, boom, missing = direct
    assert (greet.status, greet.body) == (200, b'{"greeting":"hello w\\u00f6rld"}')
    assert query.body == b'{"query":[["a","1"],["a","2"],["b","x y"]]}'
    assert echo.body == all_bytes
    assert echo.headers["x-body-length"] == str(len(all_bytes))
    assert echo.headers["content-type"] == "application/octet-stream"
    assert teapot.status == 418
    assert teapot.body == b"short and stout"
    assert teapot.headers["x-custom"] == "yes"
    assert teapot.headers["set-cookie"].startswith("a=1; ")
    assert ", b=2; " in teapot.headers["set-cookie"]
    assert "Wed, 21 Oct 2037 07:28:00 GMT" in teapot.headers["set-cookie"]
    assert (boom.status, boom.body, boom.headers["content-type"]) == (500, *BOOM[framework])
    assert missing.status == 404
    # One traceback per failed request: once through handle(), once over the socket.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2
    assert all(r.exc_info and "kaboom" in str(r.exc_info[1]) for r in errors)


async def test_concurrent_requests_each_get_their_own_response(runner):
    await runner.startup()
    results: dict[int, HttpExchangeResponse] = {}

    async def one(i: int) -> None:
        results[i] = await runner.handle(req("POST", "/echo-body", f"body-{i}".encode() * (i % 7)))

    async with anyio.create_task_group() as tg:
        for i in range(1000):
            tg.start_soon(one, i)
    await runner.shutdown()
    assert len(results) == 1000
    for i, response in results.items():
        assert response.status == 200
        assert response.body == f"body-{i}".encode() * (i % 7)


async def test_an_exception_is_a_500_and_the_next_request_works(framework, runner, caplog):
    await runner.startup()
    failed = await runner.handle(req("GET", "/boom"))
    after = await runner.handle(req("GET", "/greet/again"))
    await runner.shutdown()
    assert (failed.status, failed.body) == (500, BOOM[framework][0])
    assert after.status == 200
    assert after.body == b'{"greeting":"hello again"}'
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None


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
