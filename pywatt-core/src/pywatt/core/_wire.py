"""Private helpers that make pydantic's JSON output byte-identical to serde_json's.

pydantic-core already matches serde_json for strings and separators; the remaining gaps are
float exponents (``1e+20`` vs serde's ``1e20``), sorted keys of ``serde_json::Value`` maps, and
byte vectors written as integer arrays.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticSerializationError, SchemaValidator, core_schema, to_json

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "JsonValue",
    "WireBytes",
    "dumps",
    "encode",
    "fix_floats",
    "format_float",
    "json_value",
]

# A string literal (skipped) or a number token that has a fraction or an exponent.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?')
# A number token can only start the document or follow ``:``, ``,`` or ``[`` in compact JSON,
# so a float token needs one of those, digits, then ``.``/``e``/``E``. Hex ids, addresses and
# version strings inside strings sit after ``"`` or a letter and no longer trigger the rewrite.
_MAYBE_FLOAT = re.compile(rb"(?:^|[:,\[])-?[0-9]+[.eE]")


def format_float(value: float) -> str:
    """Render a finite float the way ryu (and so serde_json) does."""
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    text = repr(abs(value))  # shortest round-trip digits, same digits ryu picks
    mantissa, _, exp_text = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    kk = len(whole) + (int(exp_text) if exp_text else 0) - (len(whole + frac) - len(digits))
    digits = digits.rstrip("0")
    length = len(digits)
    k = kk - length
    if k >= 0 and kk <= 16:
        body = digits + "0" * k + ".0"
    elif 0 < kk <= 16:
        body = digits[:kk] + "." + digits[kk:]
    elif -5 < kk <= 0:
        body = "0." + "0" * -kk + digits
    elif length == 1:
        body = f"{digits}e{kk - 1}"
    else:
        body = f"{digits[0]}.{digits[1:]}e{kk - 1}"
    return sign + body


def _refloat(match: re.Match[bytes]) -> bytes:
    token = match.group()
    if token[:1] == b'"' or not any(c in token for c in b".eE"):
        return token
    return format_float(float(token)).encode()


def fix_floats(data: bytes) -> bytes:
    """Rewrite every float token of a compact JSON document into serde_json's spelling.

    The pre-check has no false negatives on compact JSON (which is all pywatt writes); its
    rare false positives (``":1.5"`` inside a string) only cost the exact rewrite.
    """
    if _MAYBE_FLOAT.search(data) is None:
        return data
    return _TOKEN.sub(_refloat, data)


def dumps(value: Any) -> bytes:
    """Compact serde-compatible JSON of a plain value, keeping dict order as given."""
    return fix_floats(to_json(value))


def encode(msg: BaseModel) -> bytes:
    """Exact wire bytes of one message, without the trailing newline.

    Only models marked ``__wire_values__`` (they carry ``serde_json::Value`` fields) can
    hold a float, so only they pay for the float rewrite.
    """
    cls = type(msg)
    try:
        data: bytes = cls.__pydantic_serializer__.to_json(msg)
    except PydanticSerializationError as exc:
        from pywatt.core.errors import MessageEncodeError

        raise MessageEncodeError(f"cannot encode {cls.__name__}: {exc}") from exc
    floats = _HOLDS_FLOATS.get(cls)
    if floats is None:
        # Looked up once per class: a missing attribute costs a raised AttributeError (on an
        # instance, through pydantic's __getattr__) of about 2 µs, most of a small encode.
        floats = _HOLDS_FLOATS[cls] = bool(getattr(cls, "__wire_values__", False))
    return fix_floats(data) if floats else data


_HOLDS_FLOATS: dict[type, bool] = {}


def json_value(value: Any) -> Any:
    """Check that ``value`` is plain JSON and sort its object keys like ``serde_json::Value``."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("NaN and infinity cannot be sent as JSON")
        return value
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise ValueError(f"JSON object keys must be strings, not {type(key).__name__}")
        return {key: json_value(value[key]) for key in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return json_value(dump(mode="json"))
    raise ValueError(f"{type(value).__name__} is not a JSON value")


class _JsonValueMarker:
    """Any JSON value; object keys end up sorted as serde_json's ``Value`` keeps them."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            json_value, serialization=core_schema.simple_ser_schema("any")
        )


_OCTETS = core_schema.list_schema(core_schema.int_schema(ge=0, le=255, strict=True))
_STRICT_OCTETS = SchemaValidator(_OCTETS)


def _octets_from_json(value: Any) -> bytes:
    """A parsed JSON integer array as ``bytes``, in one C call when it is plainly valid.

    pydantic-core's per-item ``ge``/``le`` checks cost about 20 ns a byte, a fifth of decoding
    a typical ``http_request``. ``bytes(list)`` rejects non-integers and values outside 0..255
    by itself but takes ``true``/``false`` for 1/0, so a result holding a 0 or 1 byte, like
    any list it refuses, goes through the strict schema, which raises exactly the
    errors (type, location, order) the constrained ``list[int]`` always gave.
    """
    if type(value) is list:
        try:
            out = bytes(value)
        except (TypeError, ValueError, OverflowError):
            pass
        else:
            if b"\x00" not in out and b"\x01" not in out:
                return out
    return bytes(_STRICT_OCTETS.validate_python(value, strict=True))


class _BytesMarker:
    """``Vec<u8>``: an integer array on the wire, ``bytes`` in Python."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        from_list = core_schema.no_info_after_validator_function(bytes, _OCTETS)
        # A plain function (no handler object per call); the schemas keep JSON Schema output.
        from_json = core_schema.no_info_plain_validator_function(
            _octets_from_json, json_schema_input_schema=_OCTETS
        )
        return core_schema.json_or_python_schema(
            json_schema=from_json,
            python_schema=core_schema.union_schema(
                [core_schema.bytes_schema(strict=True), from_list]
            ),
            serialization=core_schema.plain_serializer_function_ser_schema(
                list, when_used="json", return_schema=_OCTETS
            ),
        )


JsonValue = Annotated[Any, _JsonValueMarker]
WireBytes = Annotated[bytes, _BytesMarker]
