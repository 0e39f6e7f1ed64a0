"""A plugin whose import fails, to check pywatt's error text."""

from __future__ import annotations
