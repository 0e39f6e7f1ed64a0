from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import textwrap

import pytest

# Each test runs the guard in a real child process: it rewires fds 1 and 2, which pytest's own
# capture also owns.


def run_child(body: str, **kwargs) -> subprocess.CompletedProcess[bytes]:
    code = "from pywatt.core.stdio_guard import claim_stdout, release_stdout\n"
    code += textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=60, check=False, **kwargs
    )


def test_only_protocol_lines_reach_stdout():
    proc = run_child(
        """
        import ctypes, os, subprocess, sys
        out = claim_stdout()
        out.write(b'{"op":"announce"}\\n')
        print("stray print")
        sys.__stdout__.write("stray dunder stdout\\n")
        sys.__stdout__.flush()
        os.write(1, b"stray fd write\\n")
        subprocess.run(["echo", "stray child"], check=True)
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None)
            libc.puts(b"stray libc puts")
            libc.fflush(None)
        print("stray unicode \\u00e9")
        out.write(b'{"op":"heartbeat_ack"}\\n')
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b'{"op":"announce"}\n{"op":"heartbeat_ack"}\n'
    err = proc.stderr.decode()
    for stray in ("stray print", "stray dunder stdout", "stray fd write", "stray child"):
        assert f"{stray}\n" in err
    assert "stray unicode \u00e9\n" in err
    if sys.platform.startswith("linux"):
        assert "stray libc puts\n" in err


def test_text_printed_before_the_claim_is_flushed_first():
    proc = run_child(
        """
        import sys
        sys.stdout = open(sys.stdout.fileno(), "w", buffering=1 << 16, closefd=False)
        print("early", end="")
        claim_stdout().write(b"proto\\n")
        print("late")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"earlyproto\n"
    assert proc.stderr == b"late\n"


def test_release_restores_stdout():
    proc = run_child(
        """
        import os, sys
        original = sys.stdout
        out = claim_stdout()
        out.write(b"proto\\n")
        release_stdout()
        release_stdout()
        assert sys.stdout is original
        assert out.closed
        print("after release", flush=True)
        os.write(1, b"fd after release\\n")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"proto\nafter release\nfd after release\n"
    assert proc.stderr == b""


def test_claim_is_idempotent_thread_safe_and_leaks_no_fds():
    proc = run_child(
        """
        import json, os, sys, threading
        from pywatt.core.stdio_guard import is_stdout_claimed
        fds = lambda: sorted(os.listdir("/proc/self/fd"))
        before = fds()
        got = []
        barrier = threading.Barrier(8)
        def grab():
            barrier.wait()
            got.append(claim_stdout())
        threads = [threading.Thread(target=grab) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        claimed = is_stdout_claimed()
        release_stdout()
        out = claim_stdout()
        out.write(b"again\\n")
        release_stdout()
        report = {"distinct": len({id(w) for w in got}), "claimed": claimed,
                  "after": is_stdout_claimed(), "fds_equal": fds() == before}
        sys.stderr.write(json.dumps(report))
        """
    )
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to count file descriptors")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"again\n"
    report = json.loads(proc.stderr)
    assert report == {"distinct": 1, "claimed": True, "after": False, "fds_equal": True}


def test_protocol_fd_is_not_inherited_by_children():
    proc = run_child(
        """
        import subprocess, sys
        out = claim_stdout()
        check = "import os, sys; os.fstat(int(sys.argv[1]))"
        result = subprocess.run([sys.executable, "-c", check, str(out.fileno())],
                                capture_output=True, text=True)
        sys.stderr.write(f"rc={result.returncode} {result.stderr.strip().splitlines()[-1]}")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b""
    assert proc.stderr.decode().startswith("rc=1 OSError: [Errno 9] Bad file descriptor")


def test_each_protocol_write_is_flushed_without_closing():
    code = textwrap.dedent(
        """
        import sys
        from pywatt.core.stdio_guard import claim_stdout
        out = claim_stdout()
        out.write(b"line-1\\n")
        sys.stdin.readline()  # held open until the parent has seen line-1
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as child:
        assert child.stdout is not None
        assert child.stdin is not None
        with selectors.DefaultSelector() as sel:
            sel.register(child.stdout, selectors.EVENT_READ)
            # Generous deadline: it only fails if the line sits in a buffer until exit.
            ready = sel.select(timeout=30)
        line = child.stdout.readline() if ready else b""
        child.stdin.write(b"go\n")
        child.stdin.close()
        assert child.wait(timeout=30) == 0
    assert line == b"line-1\n"


def test_closed_stdout_is_a_channel_error():
    proc = run_child(
        """
        import os, sys
        from pywatt.core.errors import ChannelError
        os.close(1)
        try:
            claim_stdout()
        except ChannelError as exc:
            sys.stderr.write(f"ChannelError: {exc}")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b"ChannelError: stdout (fd 1) is not open; the protocol channel needs it"
