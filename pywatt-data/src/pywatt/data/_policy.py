"""Resilience policies for the proxy backends: what one is, and the one the config sets.

A policy is any object with ``async run(call, *, idempotent=True)``, as pywatt-comm's
``Policy`` (timeout, retry with backoff and a budget, circuit breaker). The proxy backends run
every orchestrator operation *outside* a transaction through it; an operation whose repetition
could change what is stored is passed as not idempotent, and is never retried. Inside a
transaction nothing goes through a policy: a retried statement there would be a new statement
in the same transaction.

From the module config: ``PYWATT_SERVICE_POLICIES`` in the module's environment holds JSON
policies by service type, ``{"Database": {...}, "Cache": {...}, "*": {...}}``, in pywatt-comm's
policy shape; reading it needs pywatt-comm. Every proxy of one service type in the process
shares the policy, so they share its breaker and retry budget.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, TypeVar

from pywatt.core.errors import ConfigError

__all__ = ["SERVICE_POLICIES_ENV", "CallPolicy", "policy_from_env"]

SERVICE_POLICIES_ENV = "PYWATT_SERVICE_POLICIES"

_T = TypeVar("_T")
_shared: dict[tuple[str, str], CallPolicy | None] = {}


class CallPolicy(Protocol):
    """What the proxy backends need of a policy (pywatt-comm's ``Policy`` is one)."""

    name: str

    async def run(self, call: Callable[[], Awaitable[_T]], *, idempotent: bool = True) -> _T: ...


def policy_from_env(
    service_type: str, environ: Mapping[str, str] | None = None
) -> CallPolicy | None:
    """The policy ``PYWATT_SERVICE_POLICIES`` sets for ``service_type`` (or ``"*"``), if any."""
    environ = os.environ if environ is None else environ
    text = environ.get(SERVICE_POLICIES_ENV)
    if not text:
        return None
    key = (text, service_type)
    if key not in _shared:
        try:
            from pywatt.comm.resilience import service_policies_from_env
        except ImportError as exc:
            raise ConfigError(
                f"{SERVICE_POLICIES_ENV} is set, and reading it needs pywatt-comm installed"
            ) from exc
        policies = service_policies_from_env({SERVICE_POLICIES_ENV: text})
        _shared[key] = policies.get(service_type) or policies.get(None)
    return _shared[key]
