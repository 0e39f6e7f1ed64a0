"""A stand-in orchestrator that dies: it spawns ``idle.py``, sends init, waits for the announce,
prints the module's pid, then sleeps until the test SIGKILLs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

MODULE = Path(__file__).with_name("idle.py")

child = subprocess.Popen(
    [sys.executable, str(MODULE)],
    stdin=subprocess.PIPE,
    stdout=subprocess.PIPE,
    env={**os.environ, "PYWATT_MODULE_ID": "idle"},
)
assert child.stdin is not None
assert child.stdout is not None
init = {
    "op": "init",
    "orchestrator_api": "http://127.0.0.1:9900",
    "module_id": "idle",
    "env": {},
    "listen": "127.0.0.1:0",
    "security_level": "None",
}
child.stdin.write(json.dumps(init).encode() + b"\n")
child.stdin.flush()
announce = json.loads(child.stdout.readline())
print(json.dumps({"pid": child.pid, "announce": announce}), flush=True)
time.sleep(600)
