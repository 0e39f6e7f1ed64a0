"""pywatt-core's own plugin: what the core provides with no other distribution installed."""

from __future__ import annotations

from pywatt.core.contracts import RegisterEncoder
from pywatt.core.encoders import JsonEncoder
from pywatt.core.plugins import hookimpl


@hookimpl
def pywatt_register_encoders(register: RegisterEncoder) -> None:
    register("json", JsonEncoder())
