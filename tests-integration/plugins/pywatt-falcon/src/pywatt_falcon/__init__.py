"""pywatt-falcon: serve Falcon ASGI apps (``falcon.asgi.App``) as pywatt modules."""

from __future__ import annotations

from pywatt_falcon.adapter import FalconAdapter

__all__ = ["FalconAdapter"]
