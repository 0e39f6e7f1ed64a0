"""Protocol codec cost against a raw ``json`` floor measured in the same run.

Prints, for each message shape, the per-call time through pywatt's prebuilt adapters and
through a bare ``json.loads``/``json.dumps`` of the same line, and their ratio (floor/pywatt;
1.0 means as fast as the floor).
"""

from __future__ import annotations

import json
import timeit

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
HEADERS = {"content-type": "application/json", "content-length": str(len(BODY))}


def per_call(fn, number=20000) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def row(name: str, ours, floor) -> None:
    t_ours, t_floor = per_call(ours), per_call(floor)
    print(
        f"{name:32s} pywatt {t_ours * 1e6:7.2f} us  floor {t_floor * 1e6:7.2f} us  "
        f"ratio {t_floor / t_ours:5.2f}"
    )


def main() -> None:
    print("protocol codec (ratio = floor time / pywatt time; higher is better, 1.0 = floor)")
    row("decode http_request", lambda: decode_o2m(HTTP_REQUEST), lambda: json.loads(HTTP_REQUEST))
    row("decode secret", lambda: decode_o2m(SECRET), lambda: json.loads(SECRET))
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
