"""Hook implementations of the dummy plugin, written as a third party would."""

from __future__ import annotations

import codecs
from typing import Any

import click

from pywatt.core import hookimpl


class Rot13Encoder:
    name = "rot13"
    content_type = "text/plain"

    def encode(self, value: Any) -> bytes:
        return codecs.encode(str(value), "rot13").encode()

    def decode(self, data: bytes) -> Any:
        return codecs.decode(data.decode(), "rot13")


@click.command("dummy-hello")
@click.argument("name", default="world")
def dummy_hello(name: str) -> None:
    """Greet from a third-party plugin."""
    click.echo(f"hello {name} from pywatt-dummy")


@hookimpl
def pywatt_register_encoders(register: Any) -> None:
    register("rot13", Rot13Encoder())


@hookimpl
def pywatt_register_commands(register: Any) -> None:
    register("dummy-hello", dummy_hello)
