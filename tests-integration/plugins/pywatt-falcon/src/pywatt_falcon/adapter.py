"""The adapter: Falcon's ASGI app is served by pywatt's generic ASGI runner."""

from __future__ import annotations

import sys
from typing import Any

from pywatt.core import EXACT_MATCH, AppRunner

__all__ = ["FalconAdapter"]


class FalconAdapter:
    """Serves ``falcon.asgi.App``; chosen over the generic ASGI adapter for Falcon's apps."""

    name = "falcon"

    def supports(self, app: object) -> int:
        falcon_asgi = sys.modules.get("falcon.asgi")  # never imported: not a Falcon app
        if falcon_asgi is not None and isinstance(app, falcon_asgi.App):
            return EXACT_MATCH
        return 0

    def wrap(self, app: object) -> AppRunner:
        from pywatt.server import AsgiRunner  # imported when an app is really served

        asgi: Any = app
        return AsgiRunner(asgi)
