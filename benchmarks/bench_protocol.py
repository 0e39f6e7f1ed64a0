"""Protocol codec cost against a raw ``json`` floor measured in the same run.

Prints, for each message shape, the per-call time through pywatt's prebuilt adapters and
through a bare ``json.loads``/``json.dumps`` of the same line, and their ratio (floor/pywatt;
1.0 means as fast as the floor).
"""

from __future__ import annotations

import json
import timeit

from _results import record

from pywatt.core.messages import (
    Announce,
    EndpointInfo,
    decode_o2m,
    encode,
    stdio_http_response,
)

HTTP_REQUEST = (
    b'{"op":"http_request","request_id":"req-1","method":"POST","uri":"/items?x=1",'
    b'"headers":{"content-type":"application/json","accept":"*/*"},'
    b'"body":[123,34,110,97,109,101,34,58,34,119,105,100,103,101,116,34,125]}'
)
SECRET = b'{"op":"secret","name":"DATABASE_URL","value":"postgres://u:p@h/db"}'
ANNOUNCE = Announce(
    listen="127.0.0.1:4102",
    endpoints=[EndpointInfo(path="/items", methods=["GET", "POST"], auth="jwt")],
)
ANNOUNCE_DICT = {
    "op": "announce",
    "listen": "127.0.0.1:4102",
    "endpoints": [{"path": "/items", "methods": ["GET", "POST"], "auth": "jwt"}],
}
BODY = b'{"ok":true,"items":[1,2,3]}'
# P1's line: a realistic 931-byte http_request (browser-ish headers, a small JSON body).
P1_LINE = json.dumps(
    {
        "op": "http_request",
        "request_id": "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        "method": "POST",
        "uri": "/api/v1/items?limit=10&offset=20",
        "headers": {
            "accept": "application/json",
            "accept-encoding": "gzip, deflate, br",
            "accept-language": "en-GB,en;q=0.9",
            "content-type": "application/json",
            "host": "127.0.0.1:9900",
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0",
            "x-forwarded-for": "10.1.2.3",
            "x-request-id": "0b7e9c1a-5f2d-4e3b-9a8c-7d6e5f4a3b2c",
            "cookie": "session=8f14e45fceea167a5a36dedd4bea2543; theme=dark; lang=en-GB; "
            "consent=analytics%3Dno%2Cads%3Dno; csrftoken=c2f3b8a1d9e04f7a8b6c5d4e3f2a1b0c",
        },
        "body": list(b'{"name":"widget","price":12.5,"tags":["a","b"],"stock":{"eu":4,"us":7}}'),
    },
    separators=(",", ":"),
).encode()
HEADERS = {"content-type": "application/json", "content-length": str(len(BODY))}


def per_call(fn, number=20000) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def row(name: str, ours, floor, aim: float | None = None) -> None:
    t_ours, t_floor = per_call(ours), per_call(floor)
    record("protocol (P1)", name, t_ours * 1e6, t_floor * 1e6, "µs", t_floor / t_ours, aim=aim)
    print(
        f"{name:32s} pywatt {t_ours * 1e6:7.2f} us  floor {t_floor * 1e6:7.2f} us  "
        f"ratio {t_floor / t_ours:5.2f}"
    )


def main() -> None:
    print("protocol codec (ratio = floor time / pywatt time; higher is better, 1.0 = floor)")
    row("decode http_request", lambda: decode_o2m(HTTP_REQUEST), lambda: json.loads(HTTP_REQUEST))
    row("decode secret", lambda: decode_o2m(SECRET), lambda: json.loads(SECRET))
    handlers = {"http_request": lambda msg: (msg.request_id, msg.body)}

    def p1_ours() -> bytes | bytearray:
        msg = decode_o2m(P1_LINE)
        request_id, _ = handlers[msg.op](msg)
        return stdio_http_response(request_id, 200, HEADERS, BODY, source="m")

    def p1_floor() -> bytes:
        msg = json.loads(P1_LINE)
        reply = {
            "content": {
                "body": list(BODY),
                "headers": HEADERS,
                "request_id": msg["request_id"],
                "status_code": 200,
            },
            "metadata": {"id": "x", "properties": {"correlation_id": "r"}, "source": "m"},
        }
        return json.dumps(reply, separators=(",", ":"), sort_keys=True).encode()

    row(f"P1 decode+dispatch+encode {len(P1_LINE)} B", p1_ours, p1_floor, aim=1.5)
    row(
        "encode announce",
        lambda: encode(ANNOUNCE),
        lambda: json.dumps(ANNOUNCE_DICT, separators=(",", ":"), ensure_ascii=False).encode(),
    )
    wrapper = {
        "content": {
            "body": list(BODY),
            "headers": HEADERS,
            "request_id": "req-1",
            "status_code": 200,
        },
        "metadata": {"id": "x", "properties": {"correlation_id": "req-1"}, "source": "m"},
    }
    row(
        "encode stdio http response",
        lambda: stdio_http_response("req-1", 200, HEADERS, BODY, source="m"),
        lambda: json.dumps(wrapper, separators=(",", ":"), sort_keys=True).encode(),
    )


if __name__ == "__main__":
    main()
