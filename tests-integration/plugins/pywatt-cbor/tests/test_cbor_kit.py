"""The CBOR encoder passes pywatt's encoder kit, and is the one the installed plugins name."""

from __future__ import annotations

import pytest
from pywatt_cbor import CborEncoder

from pywatt.core import get_plugins
from pywatt.core.testing.encoders import EncoderConformance


class TestCborEncoder(EncoderConformance):
    keeps_bytes = True  # CBOR has a byte-string type

    @pytest.fixture
    def encoder(self) -> CborEncoder:
        return CborEncoder()


def test_the_plugin_is_listed_under_its_distribution() -> None:
    plugins = get_plugins()
    assert plugins.encoders.owner("cbor") == "cbor"
    assert isinstance(plugins.encoders.get("cbor"), CborEncoder)
