"""pywatt-cbor: a CBOR encoder for pywatt payloads (brokers, routed messages, caches)."""

from __future__ import annotations

from pywatt_cbor.encoder import CborEncoder

__all__ = ["CborEncoder"]
