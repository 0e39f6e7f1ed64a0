"""Resilience policies: timeout, retry with backoff, jitter and a budget, circuit breaker, failover.

Composable typed objects in the spirit of Dapr's resiliency spec. A :class:`Policy` runs one
call as ``retry(breaker(timeout(call)))``: each attempt has its own timeout, a failed attempt
counts against the breaker, and an open breaker fails at once with :class:`CircuitOpenError`
(which is not retried). :class:`Failover` runs a call against an ordered list of endpoints.
Each breaker opening and closing, and each retry, is logged once with the policy's name.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import anyio

from pywatt.core.errors import ChannelError, ConfigError, PyWattError, RouteTimeoutError

__all__ = [
    "ROUTE_POLICIES_ENV",
    "SERVICE_POLICIES_ENV",
    "CircuitBreaker",
    "CircuitOpenError",
    "Failover",
    "Policy",
    "Retry",
    "RetryBudget",
    "policies_from_config",
    "route_policies_from_env",
    "service_policies_from_env",
]

logger = logging.getLogger("pywatt.comm.resilience")

_T = TypeVar("_T")
_E = TypeVar("_E")

#: What a retry or a breaker treats as a failure of the peer: timeouts and broken connections.
TRANSIENT: tuple[type[BaseException], ...] = (
    ChannelError,
    RouteTimeoutError,
    TimeoutError,
    OSError,
)
_FAILOVER_ON: tuple[type[BaseException], ...] = (*TRANSIENT, PyWattError)


class CircuitOpenError(PyWattError):
    """The breaker is open: the call was not made."""


class RetryBudget:
    """Retries allowed as a share of requests, so retries cannot multiply an outage.

    Each request deposits ``ratio`` tokens (up to ``ratio * 100 + min_retries``); a retry
    takes one. ``min_retries`` tokens are there from the start, for low traffic.
    """

    def __init__(self, ratio: float = 0.2, min_retries: int = 10) -> None:
        if ratio < 0 or min_retries < 0:
            raise ValueError("a retry budget needs ratio >= 0 and min_retries >= 0")
        self.ratio = ratio
        self.cap = ratio * 100 + min_retries
        self.tokens = float(min_retries)

    def deposit(self) -> None:
        self.tokens = min(self.cap, self.tokens + self.ratio)

    def withdraw(self) -> bool:
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class Retry:
    """Up to ``attempts`` tries, waiting ``initial * factor**n`` (capped) with ±``jitter``."""

    attempts: int = 3
    initial: float = 0.1
    factor: float = 2.0
    max_delay: float = 5.0
    jitter: float = 0.2
    budget: RetryBudget | None = None
    retry_on: tuple[type[BaseException], ...] = TRANSIENT

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.initial < 0 or self.factor < 1 or not 0 <= self.jitter <= 1:
            raise ValueError(
                "retry needs attempts >= 1, initial >= 0, factor >= 1, 0 <= jitter <= 1"
            )

    def delay(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (1-based)."""
        base = min(self.initial * self.factor ** (retry - 1), self.max_delay)
        return base * (1 + random.uniform(-self.jitter, self.jitter))


State = Literal["closed", "open", "half-open"]


@dataclass
class CircuitBreaker:
    """Opens after ``failure_threshold`` failures in a row; after ``reset_timeout`` seconds one
    trial call goes through (half-open): success closes it, failure opens it again."""

    failure_threshold: int = 5
    reset_timeout: float = 30.0
    name: str = "breaker"
    state: State = field(default="closed", init=False)
    failures: int = field(default=0, init=False)
    _opened_at: float = field(default=0.0, init=False, repr=False)
    _trial: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.reset_timeout <= 0:
            raise ValueError("a breaker needs failure_threshold >= 1 and reset_timeout > 0")

    def before(self) -> None:
        """Admit a call or raise :class:`CircuitOpenError`."""
        if self.state == "open":
            if time.monotonic() - self._opened_at < self.reset_timeout:
                raise CircuitOpenError(f"circuit {self.name!r} is open")
            self.state = "half-open"
            logger.info("circuit %r half-open: letting one trial call through", self.name)
        if self.state == "half-open":
            if self._trial:
                raise CircuitOpenError(f"circuit {self.name!r} is half-open, trial in flight")
            self._trial = True

    def success(self) -> None:
        self._trial = False
        self.failures = 0
        if self.state != "closed":
            self.state = "closed"
            logger.warning("circuit %r closed", self.name)

    def failure(self) -> None:
        self._trial = False
        self.failures += 1
        if self.state == "half-open" or (
            self.state == "closed" and self.failures >= self.failure_threshold
        ):
            self.state = "open"
            self._opened_at = time.monotonic()
            logger.warning("circuit %r opened after %d failures", self.name, self.failures)


@dataclass
class Policy:
    """A named combination; any part may be None. ``await policy.run(call)``."""

    name: str
    timeout: float | None = None
    retry: Retry | None = None
    breaker: CircuitBreaker | None = None

    #: Retries made so far, for metrics and tests.
    retries: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError("a policy timeout must be positive")
        if self.breaker is not None and self.breaker.name == "breaker":
            self.breaker.name = self.name

    async def run(self, call: Callable[[], Awaitable[_T]], *, idempotent: bool = True) -> _T:
        """Run ``call`` under the policy; a call that is not ``idempotent`` is never retried
        (its breaker and timeout still apply): a failed write may have been applied."""
        retry = self.retry if idempotent else None
        if retry is not None and retry.budget is not None:
            retry.budget.deposit()
        attempt = 1
        while True:
            try:
                return await self._attempt(call)
            except CircuitOpenError:
                raise
            except Exception as exc:
                if (
                    retry is None
                    or attempt >= retry.attempts
                    or not isinstance(exc, retry.retry_on)
                ):
                    raise
                if retry.budget is not None and not retry.budget.withdraw():
                    logger.warning("policy %r: retry budget exhausted; not retrying", self.name)
                    raise
                delay = retry.delay(attempt)
                logger.warning(
                    "policy %r: attempt %d failed (%s: %s); retry in %.3f s",
                    self.name, attempt, type(exc).__name__, exc, delay,
                )  # fmt: skip
                attempt += 1
                self.retries += 1
                await anyio.sleep(delay)

    async def _attempt(self, call: Callable[[], Awaitable[_T]]) -> _T:
        breaker = self.breaker
        if breaker is not None:
            breaker.before()
        try:
            if self.timeout is None:
                result = await call()
            else:
                with anyio.move_on_after(self.timeout) as scope:
                    result = await call()
                if scope.cancelled_caught:
                    raise RouteTimeoutError(
                        f"policy {self.name!r}: no result within {self.timeout} s"
                    )
        except BaseException as exc:
            if breaker is not None:
                if isinstance(exc, TRANSIENT):
                    breaker.failure()
                else:  # cancelled, or the peer answered with an error: not the peer's health
                    breaker._trial = False
            raise
        if breaker is not None:
            breaker.success()
        return result

    @classmethod
    def from_config(cls, name: str, config: Mapping[str, Any]) -> Policy:
        """``{"timeout": s, "retry": {...Retry fields}, "breaker": {...CircuitBreaker fields}}``;
        ``retry.budget`` may be ``{"ratio": r, "min_retries": n}``."""
        unknown = set(config) - {"timeout", "retry", "breaker"}
        if unknown:
            raise ConfigError(f"policy {name!r}: unknown keys {sorted(unknown)}")
        try:
            retry = None
            if config.get("retry") is not None:
                fields = dict(config["retry"])
                budget = fields.pop("budget", None)
                retry = Retry(**fields, budget=RetryBudget(**budget) if budget else None)
            breaker = None
            if config.get("breaker") is not None:
                breaker = CircuitBreaker(**config["breaker"], name=name)
            return cls(name, timeout=config.get("timeout"), retry=retry, breaker=breaker)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"policy {name!r}: {exc}") from exc


def policies_from_config(config: Mapping[str, Any]) -> dict[str, Policy]:
    """Policies by name from a module config section ``{name: {timeout, retry, breaker}}``."""
    return {name: Policy.from_config(name, spec) for name, spec in config.items()}


#: JSON ``{target_module_id or "*": policy}`` read by every channel's router at start.
ROUTE_POLICIES_ENV = "PYWATT_ROUTE_POLICIES"


#: JSON ``{"Database" | "Cache" | "*": policy}`` read by pywatt-data's proxy backends.
SERVICE_POLICIES_ENV = "PYWATT_SERVICE_POLICIES"


def route_policies_from_env(environ: Mapping[str, str]) -> dict[str | None, Policy]:
    """Routing policies by target from ``PYWATT_ROUTE_POLICIES`` (``"*"``: every other one)."""
    return _policies_from_env(environ, ROUTE_POLICIES_ENV, "target")


def service_policies_from_env(environ: Mapping[str, str]) -> dict[str | None, Policy]:
    """Service-proxy policies by service type from ``PYWATT_SERVICE_POLICIES``."""
    return _policies_from_env(environ, SERVICE_POLICIES_ENV, "service type")


def _policies_from_env(
    environ: Mapping[str, str], variable: str, key: str
) -> dict[str | None, Policy]:
    import json

    text = environ.get(variable)
    if not text:
        return {}
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{variable} is not JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{variable} must be a JSON object of policies by {key}")
    return {
        (None if name == "*" else name): policy
        for name, policy in policies_from_config(config).items()
    }


class Failover(Generic[_E]):
    """An ordered list of endpoints; a call stays on the one that last worked.

    When a call fails with a transient error (or an open breaker), the next endpoint is
    tried, each at most once per call; the last error is raised when all fail.
    """

    def __init__(self, name: str, endpoints: Sequence[_E], policy: Policy | None = None) -> None:
        if not endpoints:
            raise ValueError("failover needs at least one endpoint")
        self.name = name
        self.endpoints = list(endpoints)
        self.policy = policy
        self.current = 0

    async def run(self, call: Callable[[_E], Awaitable[_T]]) -> _T:
        error: BaseException | None = None
        for step in range(len(self.endpoints)):
            index = (self.current + step) % len(self.endpoints)
            endpoint = self.endpoints[index]
            try:
                if self.policy is None:
                    result = await call(endpoint)
                else:
                    result = await self.policy.run(functools.partial(call, endpoint))
            except _FAILOVER_ON as exc:
                if not isinstance(exc, (*TRANSIENT, CircuitOpenError)):
                    raise
                error = exc
                nxt = self.endpoints[(index + 1) % len(self.endpoints)]
                logger.warning(
                    "failover %r: %s failed (%s); trying %s", self.name, endpoint, exc, nxt
                )
                continue
            self.current = index
            return result
        assert error is not None
        raise error
