"""Resilience policies on the proxy backends, outside transactions only.

The orchestrator is the dev orchestrator's service backends behind real protocol lines; it
leaves the requests the test picks unanswered, as one that lost them would. What reached it
is counted there, by operation.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from pywatt.cli.orchestrator.loopback import service_loopback
from pywatt.comm import CircuitBreaker, Policy, Retry
from pywatt.core.messages import ServiceOperation
from pywatt.data._policy import SERVICE_POLICIES_ENV, policy_from_env
from pywatt.data.cache.proxy import ProxyCache
from pywatt.data.database.proxy import ProxyDatabase
from pywatt.data.errors import (
    CacheOutcomeUnknownError,
    DatabaseConnectionError,
    DatabaseOutcomeUnknownError,
)

pytestmark = pytest.mark.anyio

NO_ANSWER_AFTER = 0.5  # seconds the service client waits for a dropped request


class Orchestrator:
    """Counts the operations that reach it and drops the next ``drop[operation]`` of each."""

    def __init__(self) -> None:
        self.seen: collections.Counter[str] = collections.Counter()
        self.drop: collections.Counter[str] = collections.Counter()
        self.drop_all = False

    def answer_if(self, msg: object) -> bool:
        if not isinstance(msg, ServiceOperation):
            return True
        self.seen[msg.operation] += 1
        if self.drop_all or self.drop[msg.operation] > 0:
            self.drop[msg.operation] -= 1
            return False
        return True


@asynccontextmanager
async def orchestrator() -> AsyncIterator[tuple[Orchestrator, Any]]:
    orch = Orchestrator()
    async with service_loopback(timeout=NO_ANSWER_AFTER, answer_if=orch.answer_if) as client:
        yield orch, client


def quick_retry(attempts: int = 3) -> Retry:
    return Retry(attempts=attempts, initial=0.01, max_delay=0.02, jitter=0.0)


async def test_a_read_without_an_answer_is_retried_a_write_is_not():
    async with orchestrator() as (orch, client):
        policy = Policy("db", retry=quick_retry())
        db = ProxyDatabase(client=client, policy=policy)
        await db.execute("CREATE TABLE pol_rw (n INTEGER)")
        await db.execute("INSERT INTO pol_rw VALUES (1)")

        orch.drop["query_one"] = 1
        assert await db.fetch_value("SELECT count(*) FROM pol_rw") == 1
        assert orch.seen["query_one"] == 2
        assert policy.retries == 1

        before = orch.seen["execute"]
        orch.drop["execute"] = 1
        with pytest.raises(DatabaseOutcomeUnknownError):
            await db.execute("INSERT INTO pol_rw VALUES (2)")
        assert orch.seen["execute"] - before == 1, "a write was repeated"
        assert policy.retries == 1
        await db.close()


async def test_statements_in_a_transaction_bypass_the_policy():
    async with orchestrator() as (orch, client):
        policy = Policy("db", retry=quick_retry())
        db = ProxyDatabase(client=client, policy=policy)
        await db.execute("CREATE TABLE pol_tx (n INTEGER)")
        orch.drop["transaction_query_one"] = 1
        with pytest.raises(DatabaseConnectionError):
            async with db.transaction() as tx:
                await tx.fetch_value("SELECT count(*) FROM pol_tx")
        assert orch.seen["transaction_query_one"] == 1
        assert orch.seen["transaction_rollback"] == 1
        assert policy.retries == 0
        await db.close()


async def test_the_breaker_opens_stops_traffic_half_opens_and_closes():
    async with orchestrator() as (orch, client):
        breaker = CircuitBreaker(failure_threshold=3, reset_timeout=1.0)
        db = ProxyDatabase(client=client, policy=Policy("orders-db", breaker=breaker))
        await db.execute("CREATE TABLE pol_cb (n INTEGER)")

        orch.drop_all = True
        for _ in range(3):
            with pytest.raises(DatabaseConnectionError):
                await db.fetch_all("SELECT n FROM pol_cb")
        assert breaker.state == "open"
        reached = orch.seen["query"]
        assert reached == 3

        # Open: calls fail at once and nothing reaches the orchestrator.
        with anyio.fail_after(NO_ANSWER_AFTER):
            for _ in range(5):
                with pytest.raises(DatabaseConnectionError, match="circuit 'orders-db' is open"):
                    await db.fetch_all("SELECT n FROM pol_cb")
        assert orch.seen["query"] == reached

        # After the reset timeout one trial goes through; its success closes the breaker.
        orch.drop_all = False
        await anyio.sleep(1.1)
        assert await db.fetch_all("SELECT n FROM pol_cb") == []
        assert breaker.state == "closed"
        assert orch.seen["query"] == reached + 1
        await db.close()


async def test_cache_retries_reads_but_never_an_increment():
    async with orchestrator() as (orch, client):
        policy = Policy("cache", retry=quick_retry())
        cache = ProxyCache(client=client, policy=policy, namespace="polcache")
        await cache.set("k", b"v")
        orch.drop["get"] = 2
        assert await cache.get("k") == b"v"
        assert orch.seen["get"] == 3

        orch.drop["increment"] = 1
        with pytest.raises(CacheOutcomeUnknownError):
            await cache.increment("n")
        assert orch.seen["increment"] == 1
        await cache.close()


async def test_policies_come_from_the_module_config(monkeypatch):
    config = '{"Database": {"retry": {"attempts": 4}, "breaker": {"failure_threshold": 2}}}'
    monkeypatch.setenv(SERVICE_POLICIES_ENV, config)
    first, second = ProxyDatabase(), ProxyDatabase()
    assert isinstance(first.policy, Policy)
    assert first.policy is second.policy, "proxies of one service share a breaker"
    assert first.policy.name == "Database"
    assert first.policy.retry is not None
    assert first.policy.retry.attempts == 4
    assert first.policy.breaker is not None
    assert first.policy.breaker.failure_threshold == 2
    assert ProxyCache().policy is None  # no Cache entry and no "*"
    assert policy_from_env("Cache", {SERVICE_POLICIES_ENV: '{"*": {"timeout": 2}}'}) is not None
