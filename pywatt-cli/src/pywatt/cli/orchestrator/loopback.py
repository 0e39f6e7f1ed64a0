"""A service client wired to the dev orchestrator's service backends, in one process.

Proxy backends (pywatt-data's ``proxy`` cache and database) are tested through the very
lines a module and an orchestrator exchange, with no subprocess.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio

from pywatt.core._lines import DEFAULT_MAX_LINE, LineSplitter, OversizedLine
from pywatt.core._stdio import MemorySink, MemorySource
from pywatt.core.config import AppConfig
from pywatt.core.control import ControlChannel
from pywatt.core.lifecycle import StopController
from pywatt.core.messages import decode_init
from pywatt.core.module import ModuleContext
from pywatt.core.service_client import ServiceClient
from pywatt.core.state import AppState

if TYPE_CHECKING:
    from anyio.abc import ObjectReceiveStream, ObjectSendStream

    from pywatt.cli.orchestrator.service_backends import ServiceBackends

__all__ = ["service_loopback"]


@asynccontextmanager
async def service_loopback(
    backends: ServiceBackends | None = None,
    *,
    timeout: float = 30.0,
    answer_if: Callable[[object], bool] | None = None,
) -> AsyncIterator[ServiceClient]:
    """Yield a :class:`ServiceClient` whose requests the orchestrator's backends answer.

    :param answer_if: sees every request that reaches the orchestrator; False leaves that one
        unanswered, as an orchestrator that lost it would (the client times out).

    It is the current module's client meanwhile, so proxy backends opened inside find it.
    """
    from pywatt.cli.orchestrator.service_backends import ServiceBackends

    owned = backends is None
    backends = backends or ServiceBackends()
    to_module, module_in = anyio.create_memory_object_stream[bytes](1024)
    module_out, from_module = anyio.create_memory_object_stream[bytes](1024)
    channel = ControlChannel(MemorySource(module_in), MemorySink(module_out))
    client = ServiceClient(channel, timeout=timeout)
    _loopback_module(channel, client).activate()
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_module_side, channel)
            tg.start_soon(_orchestrator_side, backends, from_module, to_module, answer_if)
            yield client
            tg.cancel_scope.cancel()
    finally:
        channel.close()
        for stream in (to_module, module_in, module_out, from_module):
            stream.close()
        if owned:
            await backends.aclose()


def _loopback_module(channel: ControlChannel, client: ServiceClient) -> ModuleContext:
    init = decode_init(
        b'{"op":"init","orchestrator_api":"http://127.0.0.1:9900","module_id":"loopback",'
        b'"env":{},"listen":"127.0.0.1:0","security_level":"None"}'
    )
    config = AppConfig.from_init(init, environ={})
    state: AppState[None] = AppState(config=config, user=None, extensions={"services": client})
    return ModuleContext(init, config, channel, state, StopController())


async def _module_side(channel: ControlChannel) -> None:
    async with anyio.create_task_group() as tg:
        await channel.run(task_group=tg)


async def _orchestrator_side(
    backends: ServiceBackends,
    lines_in: ObjectReceiveStream[bytes],
    lines_out: ObjectSendStream[bytes],
    answer_if: Callable[[object], bool] | None,
) -> None:
    from pywatt.cli.orchestrator.service_backends import operation_echo
    from pywatt.core.messages import (
        ServiceOperation,
        ServiceOperationResult,
        ServiceRequest,
        ServiceResponse,
        decode_m2o,
        encode,
    )

    async def answer(msg: object) -> None:
        if answer_if is not None and not answer_if(msg):
            return
        if isinstance(msg, ServiceRequest):
            ok, conn, error = await backends.handle_request(msg)
            reply = encode(
                ServiceResponse(
                    id=msg.id,
                    service_type=msg.service_type,
                    success=ok,
                    error=error,
                    connection_id=conn,
                )
            )
        elif isinstance(msg, ServiceOperation):
            ok, result, error = await backends.handle_operation(msg)
            body = encode(ServiceOperationResult(success=ok, result=result, error=error))
            reply = body[:-1] + b',"params":' + operation_echo(msg) + b"}"
        else:
            return
        await lines_out.send(reply + b"\n")

    lines = LineSplitter(DEFAULT_MAX_LINE)
    # Like the real orchestrator, every request is answered in its own task: a slow one
    # (a transaction waiting for a lock) must not hold up the others.
    async with anyio.create_task_group() as tg:
        async for chunk in lines_in:
            for line in lines.feed(chunk):
                if isinstance(line, OversizedLine):
                    raise line
                tg.start_soon(answer, decode_m2o(line))
