"""Memcached key rules: which keys pass as they are and which are hashed."""

from __future__ import annotations

import hashlib

__all__ = ["memcached_key"]

_MAX_KEY_BYTES = 250


def memcached_key(text: str) -> bytes:
    """``text`` as a memcached key, hashed when memcached could not take it as it is.

    Memcached keys are at most 250 bytes of printable ASCII without spaces. Anything else
    (longer, whitespace, control or non-ASCII characters) becomes ``pwh:`` + a BLAKE2b digest
    of the UTF-8 text: deterministic, so every process maps a key the same way.
    """
    if len(text) <= _MAX_KEY_BYTES and text.isascii() and all(" " < ch < "\x7f" for ch in text):
        return text.encode("ascii")
    return b"pwh:" + hashlib.blake2b(text.encode(), digest_size=24).hexdigest().encode("ascii")
