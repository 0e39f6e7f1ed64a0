"""Announces, then exits with status 3: the orchestrator must report the crash."""

from __future__ import annotations

import os
import sys
import threading
import time

from pywatt.core import PyWattModule

app: PyWattModule[None] = PyWattModule(None)


def exit_after_announce() -> None:
    while app.context is None or not app.context.listen:
        time.sleep(0.02)
    time.sleep(0.5)
    print("crash.py: failing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


if __name__ == "__main__":
    threading.Thread(target=exit_after_announce, daemon=True).start()
    app.run()
