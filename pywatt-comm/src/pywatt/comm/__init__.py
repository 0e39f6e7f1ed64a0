"""pywatt-comm: encoders and channels for PyWatt modules."""

from __future__ import annotations

from pywatt.comm.encoders import MsgpackEncoder

__all__ = ["MsgpackEncoder"]
