from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from pywatt.core.encoders import Encoder, JsonEncoder
from pywatt.core.testing.encoders import EncoderConformance

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_json_round_trip(value):
    enc = JsonEncoder()
    assert enc.decode(enc.encode(value)) == value


def test_json_is_compact_and_keeps_non_ascii():
    assert JsonEncoder().encode({"a": [1, "é☃"]}) == '{"a":[1,"é☃"]}'.encode()


def test_json_rejects_nan():
    with pytest.raises(ValueError, match="not JSON compliant"):
        JsonEncoder().encode(float("nan"))


def test_satisfies_protocol():
    assert isinstance(JsonEncoder(), Encoder)


class TestJsonEncoderConformance(EncoderConformance):
    @pytest.fixture
    def encoder(self) -> JsonEncoder:
        return JsonEncoder()
