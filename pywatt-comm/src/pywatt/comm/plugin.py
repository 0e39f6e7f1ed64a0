"""pywatt-comm's plugin: the msgpack encoder and the ``tcp`` / ``unix`` channels."""

from __future__ import annotations

from pywatt.core.hookspecs import Register
from pywatt.core.plugins import hookimpl


@hookimpl
def pywatt_register_encoders(register: Register) -> None:
    from pywatt.comm.encoders import MsgpackEncoder

    register("msgpack", MsgpackEncoder())


@hookimpl
def pywatt_register_channels(register: Register) -> None:
    from pywatt.comm.tcp import TcpChannel
    from pywatt.comm.unix import UnixChannel

    register("tcp", TcpChannel)
    register("unix", UnixChannel)
