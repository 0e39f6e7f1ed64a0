"""pywatt-comm's plugin: the encoders it provides (channels arrive with the comm issue)."""

from __future__ import annotations

from pywatt.core.hookspecs import Register
from pywatt.core.plugins import hookimpl


@hookimpl
def pywatt_register_encoders(register: Register) -> None:
    from pywatt.comm.encoders import MsgpackEncoder

    register("msgpack", MsgpackEncoder())
