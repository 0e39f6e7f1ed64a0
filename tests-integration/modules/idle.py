"""A module that only waits: it must exit on its own when its orchestrator disappears."""

from __future__ import annotations

from pywatt.core import PyWattModule

app: PyWattModule[None] = PyWattModule(None)

if __name__ == "__main__":
    app.run()
