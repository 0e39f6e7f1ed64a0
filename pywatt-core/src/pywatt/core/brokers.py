"""The contract between modules and broker plugins (NATS JetStream, Redis Streams, memory, ...).

A broker moves bytes; the module runtime (:mod:`pywatt.core.messaging`) encodes payloads with
the registered encoders. Delivery is at least once: a handler that returns acks its message,
one that raises nacks it, and after ``max_deliver`` attempts the message goes to the
dead-letter subject. Core never imports a broker client: factories arrive through
``pywatt_register_brokers`` and are looked up by URL scheme.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from pywatt.core.config import BROKER_URL_ENV
from pywatt.core.errors import ConfigError

if TYPE_CHECKING:
    from pywatt.core.plugins import Plugins

__all__ = [
    "BROKER_URL_ENV",
    "Broker",
    "BrokerFactory",
    "Delivery",
    "Handler",
    "PublishAck",
    "Reply",
    "Responder",
    "SubscribeOptions",
    "Subscription",
    "broker_for_url",
    "dead_letter_subject",
]


@dataclass(frozen=True)
class PublishAck:
    """The broker's receipt for a durable publish: the message is stored."""

    stream: str
    sequence: str


@dataclass(frozen=True)
class Reply:
    """The answer to a :meth:`Broker.request`."""

    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SubscribeOptions:
    """How a durable subscription redelivers.

    :param group: replicas with the same group share the messages (each goes to one of them);
        ``None`` gives this subscriber its own copy of every message published from now on.
    :param max_deliver: handler attempts before the message is dead-lettered.
    :param ack_wait: seconds an unacknowledged delivery stays with a consumer before another
        may receive it (a consumer that died mid-message).
    :param dead_letter: subject dead-lettered messages go to (``<subject>.dead`` by default).
    :param concurrency: deliveries handled at once by this subscriber.
    """

    group: str | None = None
    max_deliver: int = 5
    ack_wait: float = 30.0
    dead_letter: str | None = None
    concurrency: int = 1

    def __post_init__(self) -> None:
        if self.max_deliver < 1:
            raise ConfigError(f"max_deliver must be at least 1, not {self.max_deliver}")
        if self.ack_wait <= 0:
            raise ConfigError(f"ack_wait must be positive, not {self.ack_wait}")
        if self.concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, not {self.concurrency}")


def dead_letter_subject(subject: str, options: SubscribeOptions) -> str:
    return options.dead_letter or f"{subject}.dead"


class Delivery:
    """One delivery of a message to a subscriber.

    ``attempt`` counts deliveries of this message to the group, starting at 1. A handler may
    call :meth:`ack` or :meth:`nack` itself; otherwise returning acks and raising nacks.
    """

    __slots__ = ("_ack", "_nack", "attempt", "data", "headers", "settled", "subject")

    def __init__(
        self,
        subject: str,
        data: bytes,
        headers: Mapping[str, str],
        attempt: int,
        ack: Callable[[], Awaitable[None]],
        nack: Callable[[float], Awaitable[None]],
    ) -> None:
        self.subject = subject
        self.data = data
        self.headers = headers
        self.attempt = attempt
        self.settled = False
        self._ack = ack
        self._nack = nack

    async def ack(self) -> None:
        """The message is handled: it is never delivered to this group again."""
        if not self.settled:
            self.settled = True
            await self._ack()

    async def nack(self, delay: float = 0.0) -> None:
        """The message failed: deliver it again after ``delay`` seconds."""
        if not self.settled:
            self.settled = True
            await self._nack(delay)


#: A subscription's handler; returning acks the delivery, raising nacks it.
Handler = Callable[[Delivery], Awaitable[None]]
#: A reply handler: the request's data and headers in, the answer's data out.
Responder = Callable[[bytes, Mapping[str, str]], Awaitable[bytes]]


@runtime_checkable
class Subscription(Protocol):
    """A running subscription."""

    subject: str

    async def drain(self, timeout: float = 10.0) -> None:
        """Pull nothing new, let deliveries in flight finish and settle, then stop."""
        ...


@runtime_checkable
class Broker(Protocol):
    """A connection to one broker. Build it from a URL, ``await connect()``, then use it."""

    name: str
    #: Whether two processes given the same URL reach the same broker.
    shared: bool

    async def connect(self) -> None:
        """Connect; raise ``BrokerError`` when the broker cannot be reached."""
        ...

    async def publish(
        self, subject: str, data: bytes, headers: Mapping[str, str] | None = None
    ) -> PublishAck:
        """Store ``data`` on ``subject``; returns once the broker has it."""
        ...

    async def subscribe(
        self, subject: str, handler: Handler, options: SubscribeOptions | None = None
    ) -> Subscription:
        """Deliver ``subject``'s messages to ``handler``, at least once."""
        ...

    async def request(
        self,
        subject: str,
        data: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 5.0,
    ) -> Reply:
        """Send a request and wait for one reply; ``BrokerTimeoutError`` after ``timeout`` s."""
        ...

    async def reply(
        self, subject: str, responder: Responder, *, group: str | None = None
    ) -> Subscription:
        """Answer requests on ``subject``; replicas in one ``group`` share them."""
        ...

    async def aclose(self) -> None:
        """Drain every subscription, then close the connection."""
        ...


@runtime_checkable
class BrokerFactory(Protocol):
    """What ``pywatt_register_brokers`` registers: a class or callable with its URL schemes."""

    schemes: tuple[str, ...]

    def __call__(self, url: str, **options: Any) -> Broker: ...


def broker_for_url(url: str, plugins: Plugins | None = None, **options: Any) -> Broker:
    """Build (not connect) the registered broker whose scheme ``url`` uses."""
    if plugins is None:
        from pywatt.core.plugins import get_plugins

        plugins = get_plugins()
    scheme = urlsplit(url).scheme
    if not scheme:
        raise ConfigError(f"broker URL {url!r} has no scheme (e.g. nats://, redis://)")
    registry = plugins.brokers
    claims = [(name, factory) for name, factory in registry.items() if scheme in factory.schemes]
    if len(claims) > 1:
        # Picking one by name order would hide which backend the module talks to.
        sides = " and ".join(f"{name!r} (plugin {registry.owner(name)!r})" for name, _ in claims)
        raise ConfigError(
            f"{scheme}:// is claimed by brokers {sides}; disable one with PYWATT_DISABLED_PLUGINS"
        )
    if claims:
        broker: Broker = claims[0][1](url, **options)
        return broker
    known = sorted({s for _n, f in registry.items() for s in f.schemes})
    raise ConfigError(
        f"no broker for {scheme}:// URLs; installed schemes: {', '.join(known) or 'none'}"
        " (install pywatt-comm[nats] or pywatt-comm[redis])"
    )
