"""pywatt-comm's plugin: the msgpack encoder, the ``tcp`` / ``unix`` channels and the brokers."""

from __future__ import annotations

from pywatt.core.contracts import RegisterBroker, RegisterChannel, RegisterEncoder
from pywatt.core.plugins import hookimpl, lazy


@hookimpl
def pywatt_register_encoders(register: RegisterEncoder) -> None:
    register("msgpack", lazy("pywatt.comm.encoders:MsgpackEncoder", call=True))


@hookimpl
def pywatt_register_channels(register: RegisterChannel) -> None:
    # Imported on first use: a module with no channel configured never loads pywatt.comm.
    register("tcp", lazy("pywatt.comm.tcp:TcpChannel"))
    register("unix", lazy("pywatt.comm.unix:UnixChannel"))


@hookimpl
def pywatt_register_brokers(register: RegisterBroker) -> None:
    # Imported when a broker URL is looked up; nats-py / redis only when one connects.
    register("memory", lazy("pywatt.comm.brokers.memory:MemoryBroker"))
    register("nats", lazy("pywatt.comm.brokers.nats_jetstream:NatsBroker"))
    register("redis-streams", lazy("pywatt.comm.brokers.redis_streams:RedisStreamsBroker"))
