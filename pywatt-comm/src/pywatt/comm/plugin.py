"""pywatt-comm's plugin: the msgpack encoder, the ``tcp`` / ``unix`` channels and the brokers."""

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


@hookimpl
def pywatt_register_brokers(register: Register) -> None:
    from pywatt.comm.brokers.memory import MemoryBroker
    from pywatt.comm.brokers.nats_jetstream import NatsBroker
    from pywatt.comm.brokers.redis_streams import RedisStreamsBroker

    register("memory", MemoryBroker)
    register("nats", NatsBroker)
    register("redis-streams", RedisStreamsBroker)
