"""Line splitting: the same lines however the stream is chunked, and a cap that holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

from hypothesis import given, strategies as st

from pywatt.core._lines import KEEP_BYTES, LineSplitter, OversizedLine

line_text = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b""))


def split_all(data: bytes, cuts: list[int], cap: int) -> list[bytes | OversizedLine]:
    splitter = LineSplitter(cap)
    out: list[bytes | OversizedLine] = []
    start = 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        out += [
            x if isinstance(x, OversizedLine) else bytes(x) for x in splitter.feed(data[start:cut])
        ]
        start = max(start, cut)
    return out


@given(lines=st.lists(line_text, max_size=12), cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_chunking_does_not_change_the_lines(lines, cuts):
    data = b"".join(line + b"\n" for line in lines)
    assert split_all(data, cuts, cap=1 << 20) == lines


@given(lines=st.lists(line_text, max_size=12), cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_lines_over_the_cap_are_reported_with_their_ends(lines, cuts):
    cap = 20
    data = b"".join(line + b"\n" for line in lines)
    got = split_all(data, cuts, cap=cap)
    assert len(got) == len(lines)
    for line, item in zip(lines, got, strict=True):
        if len(line) <= cap:
            assert item == line
        else:
            assert isinstance(item, OversizedLine)
            assert (item.size, item.limit) == (len(line), cap)
            assert item.head == line[:KEEP_BYTES]
            assert item.tail == line[-KEEP_BYTES:]


def test_an_oversized_line_is_not_buffered():
    splitter = LineSplitter(1024)
    head = b'{"op":"http_request","request_id":"r-9",'
    assert splitter.feed(head) == []
    for _ in range(200):  # 12.8 MiB, fed in 64 KiB chunks
        assert splitter.feed(b"1," * 32768) == []
        assert splitter.take_rest() == b""  # nothing of it is kept
    (item,) = splitter.feed(b'2],"x":"end"}\nnext\n')[:1]
    assert isinstance(item, OversizedLine)
    assert item.head.startswith(head)
    assert item.tail.endswith(b'2],"x":"end"}')
    assert item.size == len(head) + 200 * 65536 + len(b'2],"x":"end"}')


def test_a_buffered_line_is_handed_over_without_a_copy():
    splitter = LineSplitter(1 << 20)
    splitter.feed(b"a" * 1000)
    buffered = splitter._buf
    (line,) = splitter.feed(b"b\n")
    assert line is buffered


MODULE = textwrap.dedent(
    """
    from pywatt.core import PyWattModule, ServeOptions

    PyWattModule(None, options=ServeOptions(bind_http=False, max_line=1 << 20)).run()
    """
)
INIT = (
    b'{"op":"init","orchestrator_api":"http://127.0.0.1:9900","module_id":"big",'
    b'"env":{},"listen":"127.0.0.1:0","security_level":"None"}\n'
)


def request_parts(request_id: str, size: int, *, id_last: bool) -> tuple[bytes, bytes]:
    """An http_request line cut in two: all but its end, then the end with the newline."""
    rid = json.dumps(request_id).encode()
    head = b'{"op":"http_request",' + (b"" if id_last else b'"request_id":' + rid + b",")
    head += b'"method":"POST","uri":"/echo","headers":{},"body":['
    body = b",".join(b"%d" % b for b in os.urandom(size // 4))
    tail = b"]" + (b',"request_id":' + rid if id_last else b"") + b"}\n"
    return head + body, tail


def test_an_oversized_request_is_answered_413_and_serving_goes_on(tmp_path):
    script = tmp_path / "big.py"
    script.write_text(MODULE)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYWATT_MODULE_ID": "big"},
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(INIT)
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline())["op"] == "announce"
    for rid, id_last in (("first-\u00e9", False), ("second", True)):
        body, end = request_parts(rid, 3 << 20, id_last=id_last)
        proc.stdin.write(body)
        proc.stdin.flush()
        time.sleep(0.3)  # let the module read (and discard) the bulk before the newline
        proc.stdin.write(end)
        proc.stdin.flush()
        sent = time.monotonic()
        reply = json.loads(proc.stdout.readline())
        assert time.monotonic() - sent < 1.0  # the promise: 413 within 1 s of the newline
        assert reply["content"]["request_id"] == rid
        assert reply["content"]["status_code"] == 413
        assert json.loads(bytes(reply["content"]["body"]))["status"] == "error"
    # A request within the cap is still served (no app here: 404).
    proc.stdin.write(b"".join(request_parts("third", 1000, id_last=False)))
    proc.stdin.flush()
    reply = json.loads(proc.stdout.readline())
    assert (reply["content"]["request_id"], reply["content"]["status_code"]) == ("third", 404)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    dropped = [
        r for r in map(json.loads, err.decode().splitlines()) if "dropped" in r["fields"]["message"]
    ]
    assert len(dropped) == 2  # logged once each
