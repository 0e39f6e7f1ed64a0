"""Fails on import on purpose."""

from __future__ import annotations

raise RuntimeError("pywatt-broken refuses to import")
