from __future__ import annotations

import itertools

import pytest

from pywatt.comm import Backoff


def test_default_delays_double_from_100ms_and_cap_at_30s():
    delays = list(itertools.islice(Backoff().delays(), 12))
    assert delays[:5] == [0.1, 0.2, 0.4, 0.8, 1.6]
    assert delays[8] == 25.6
    assert delays[9:] == [30.0, 30.0, 30.0]


def test_attempts_bound_the_retries():
    assert list(Backoff(attempts=1).delays()) == []
    assert list(Backoff(attempts=3).delays()) == [0.1, 0.2]


@pytest.mark.parametrize(
    "kwargs", [{"initial": -1}, {"factor": 0.5}, {"attempts": 0}, {"budget": 0}]
)
def test_nonsense_policies_are_rejected(kwargs):
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**kwargs)
