"""The entry point's module: registers the encoder by path, so cbor2 loads on first use."""

from __future__ import annotations

from pywatt.core import RegisterEncoder, hookimpl, lazy


@hookimpl
def pywatt_register_encoders(register: RegisterEncoder) -> None:
    register("cbor", lazy("pywatt_cbor.encoder:CborEncoder", call=True))
