from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from pywatt.comm import MsgpackEncoder
from pywatt.core.plugins import get_plugins, reset_plugins
from pywatt.core.testing.encoders import EncoderConformance

values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text() | st.binary(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(values)
def test_round_trip_keeps_bytes_and_text_apart(value):
    enc = MsgpackEncoder()
    assert enc.decode(enc.encode(value)) == value


def test_registered_through_the_entry_point():
    reset_plugins()
    try:
        plugins = get_plugins()
        assert isinstance(plugins.encoders.get("msgpack"), MsgpackEncoder)
        assert plugins.encoders.owner("msgpack") == "comm"
        assert plugins.encoders.owner("json") == "core"
    finally:
        reset_plugins()


class TestMsgpackEncoderConformance(EncoderConformance):
    keeps_bytes = True

    @pytest.fixture
    def encoder(self) -> MsgpackEncoder:
        return MsgpackEncoder()
