"""A conformance kit for encoder plugins: subclass :class:`EncoderConformance` in a test module.

::

    import pytest
    from pywatt.core.testing.encoders import EncoderConformance
    from acme_pywatt.cbor import CborEncoder

    class TestCborEncoder(EncoderConformance):
        keeps_bytes = True  # bytes come back as bytes, apart from text

        @pytest.fixture
        def encoder(self) -> CborEncoder:
            return CborEncoder()

The suite checks the :class:`~pywatt.core.encoders.Encoder` contract: a ``name`` and a
``content_type``, ``encode`` returning ``bytes``, every JSON-shaped value coming back equal
(nesting, Unicode, int64 and uint64 bounds, floats, empty containers), and damaged input
refused with a ``ValueError`` rather than decoded into something else. Payloads of brokers,
routed messages and encoded caches go through whichever encoder a user names, so these are
the properties the rest of pywatt relies on. pywatt's ``json`` and ``msgpack`` pass it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from pywatt.core.encoders import Encoder
from pywatt.core.plugins import get_plugins

__all__ = ["EncoderConformance"]

VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**63 - 1,
    -(2**63),
    2**64 - 1,
    1.5,
    -0.25,
    1e300,
    "",
    "plain",
    "é☃ 𝄞 \x00 \n\"'\\",
    [],
    {},
    [1, "two", None, [3.5, {"k": [True]}]],
    {"id": 7, "tags": ["a", "é"], "nested": {"ok": True, "none": None, "list": []}},
    {"": "empty key", "k" * 300: "long key"},
    ["x" * 100_000],
]


class EncoderConformance:
    """The behaviour every encoder must have. Subclasses provide an ``encoder`` fixture."""

    #: Whether ``bytes`` values come back as ``bytes`` (msgpack does; JSON has no bytes type).
    keeps_bytes: ClassVar[bool] = False

    def test_it_has_the_contract_shape(self, encoder: Encoder) -> None:
        assert isinstance(encoder, Encoder)
        assert isinstance(encoder.name, str)
        assert encoder.name
        assert isinstance(encoder.content_type, str)
        assert "/" in encoder.content_type

    @pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
    def test_json_shaped_values_round_trip(self, encoder: Encoder, value: Any) -> None:
        data = encoder.encode(value)
        assert isinstance(data, bytes)
        back = encoder.decode(data)
        assert back == value
        assert type(back) is type(value)  # 1 stays an int, True stays a bool

    def test_bytes_stay_apart_from_text(self, encoder: Encoder) -> None:
        if not self.keeps_bytes:
            return  # documented on the class: JSON-only encoders have no bytes type
        value = {"raw": bytes(range(256)), "text": "bytes(range(256))"}
        assert encoder.decode(encoder.encode(value)) == value

    def test_damaged_input_is_refused(self, encoder: Encoder) -> None:
        data = encoder.encode({"key": ["a value long enough to cut", 12345]})
        for damaged in (data[: len(data) // 2], data[:-1]):
            with pytest.raises(ValueError):  # noqa: PT011 - each library words it its own way
                encoder.decode(damaged)

    def test_it_is_registered_under_its_name(self, encoder: Encoder) -> None:
        # Looked up by name in the installed plugins, as brokers and caches do.
        registered = get_plugins().encoders.get(encoder.name)
        assert type(registered) is type(encoder)
