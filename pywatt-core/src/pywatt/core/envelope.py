"""The ``Message<T>`` envelope, ``EncodedMessage`` and the TCP/Unix frame format (§3, §4.1)."""

from __future__ import annotations

import base64
import binascii
import enum
import struct
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from pywatt.core._wire import WireBytes, dumps, encode, fix_floats, json_value
from pywatt.core.errors import (
    FrameError,
    MessageDecodeError,
    MessageEncodeError,
    MessageValidationError,
    OversizedMessageError,
)

if TYPE_CHECKING:
    from pywatt.core.messages import ModuleToOrchestrator

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "EncodedMessage",
    "EncodingFormat",
    "FrameDecoder",
    "Message",
    "MessageMetadata",
    "decode_envelope",
    "encode_envelope",
    "encode_frame",
    "frame_payload_to_json",
]

DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024
_HEADER = struct.Struct(">IB")


def _is_none(value: object) -> bool:
    return value is None


class EncodingFormat(str, enum.Enum):
    """Payload encoding; the value is the JSON name, ``frame_byte`` the frame header code."""

    JSON = "Json"
    BINARY = "Binary"
    BASE64 = "Base64"
    AUTO = "Auto"

    @property
    def frame_byte(self) -> int:
        return _FRAME_BYTES[self]

    @classmethod
    def from_frame_byte(cls, code: int) -> EncodingFormat:
        """Map a frame header byte; Auto (0) and unknown codes are rejected as Rust does."""
        if code == 0:
            raise FrameError("frame format byte 0 (Auto) is not allowed on the wire")
        fmt = _FORMATS_BY_BYTE.get(code)
        if fmt is None:
            raise FrameError(f"invalid frame format byte {code:#04x}")
        return fmt


_FRAME_BYTES = {
    EncodingFormat.AUTO: 0,
    EncodingFormat.JSON: 1,
    EncodingFormat.BINARY: 2,
    EncodingFormat.BASE64: 3,
}
_FORMATS_BY_BYTE = {code: fmt for fmt, code in _FRAME_BYTES.items() if code}


class EncodedMessage(BaseModel):
    """Raw payload bytes plus their format; on the wire ``{"data":[...],"format":"Json"}``."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    data: WireBytes
    format: EncodingFormat

    @classmethod
    def from_json_value(cls, value: Any) -> EncodedMessage:
        """Wrap a JSON value (usually an encoded envelope) the way Rust's ``encode`` does."""
        return cls(data=value if isinstance(value, bytes) else dumps(value), format="Json")

    def to_json_bytes(self) -> bytes:
        """The payload as JSON text, converting Binary/Base64 per the receiver rule of §3.3."""
        if self.format is EncodingFormat.AUTO:
            raise MessageDecodeError("an Auto-format payload has no defined decoding")
        return frame_payload_to_json(self.format, self.data)


class MessageMetadata(BaseModel):
    """Envelope metadata; every field is omitted when None, ``properties`` keys are sorted."""

    model_config = ConfigDict(defer_build=True)

    id: str | None = Field(default=None, exclude_if=_is_none)
    timestamp: int | None = Field(default=None, exclude_if=_is_none)
    source: str | None = Field(default=None, exclude_if=_is_none)
    destination: str | None = Field(default=None, exclude_if=_is_none)
    properties: Annotated[dict[str, Any], AfterValidator(json_value)] | None = Field(
        default=None, exclude_if=_is_none
    )


class Message(BaseModel):
    """``Message<T>``: ``content`` is kept as a parsed JSON value (or a wire model)."""

    model_config = ConfigDict(defer_build=True)

    id: uuid.UUID
    content: Any
    metadata: MessageMetadata = Field(default_factory=MessageMetadata)

    def content_as_m2o(self) -> ModuleToOrchestrator:
        """Decode ``content`` as an op-tagged module→orchestrator message."""
        from pywatt.core.messages import decode_m2o

        return decode_m2o(dumps(self.content))


_adapters: dict[type[BaseModel], TypeAdapter[Any]] = {}


def _adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    """The model's adapter, built on first use: a stdio-only module never builds these."""
    adapter = _adapters.get(model)
    if adapter is None:
        adapter = _adapters[model] = TypeAdapter(model)
    return adapter


def encode_envelope(
    content: Any, *, id: uuid.UUID | str | None = None, metadata: MessageMetadata | None = None
) -> bytes:
    """Wrap ``content`` (a wire model or a plain JSON value) as ``Message<T>`` bytes."""
    if isinstance(content, BaseModel):
        body = encode(content)
    else:
        try:
            body = dumps(content)
        except PydanticSerializationError as exc:
            raise MessageEncodeError(str(exc)) from exc
    msg_id = uuid.uuid4() if id is None else id if isinstance(id, uuid.UUID) else uuid.UUID(id)
    meta = fix_floats(
        _adapter(MessageMetadata).dump_json(metadata if metadata is not None else MessageMetadata())
    )
    head = b'{"id":"' + str(msg_id).encode() + b'","content":'
    return head + body + b',"metadata":' + meta + b"}"


def decode_envelope(data: bytes | str) -> Message:
    """Parse ``Message<T>`` bytes; ``id`` is required, ``metadata`` may be absent but not null."""
    try:
        msg: Message = _adapter(Message).validate_json(data, strict=True)
        return msg
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid" or not first["loc"]:
            raise MessageDecodeError(f"not a JSON object envelope: {first['msg']}") from exc
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise MessageValidationError(f"envelope field {where!r}: {first['msg']}") from exc


def encode_frame(data: bytes, fmt: EncodingFormat = EncodingFormat.JSON) -> bytes:
    """Build one ``u32 BE length | format byte | data`` frame."""
    if fmt is EncodingFormat.AUTO:
        raise FrameError("Auto cannot be written in a frame header")
    if len(data) > 0xFFFFFFFF:
        raise OversizedMessageError(f"frame data of {len(data)} bytes exceeds the u32 length")
    return _HEADER.pack(len(data), fmt.frame_byte) + data


class FrameDecoder:
    """Incremental frame parser: feed bytes, get ``(format, data)`` for each complete frame.

    The whole frame is consumed before the format byte is checked, so a bad byte raises
    ``FrameError`` but leaves the stream aligned on the next frame (§4.1).
    """

    def __init__(self, max_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self.max_size = max_size
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, chunk: bytes) -> Iterator[tuple[EncodingFormat, bytes]]:
        self._buffer += chunk
        while len(self._buffer) >= _HEADER.size:
            length, code = _HEADER.unpack_from(self._buffer)
            if length > self.max_size:
                self._buffer.clear()  # the stream cannot be trusted past an absurd length
                raise OversizedMessageError(
                    f"frame of {length} bytes exceeds the {self.max_size}-byte limit"
                )
            end = _HEADER.size + length
            if len(self._buffer) < end:
                return
            data = bytes(self._buffer[_HEADER.size : end])
            del self._buffer[:end]
            yield EncodingFormat.from_frame_byte(code), data


def frame_payload_to_json(fmt: EncodingFormat, data: bytes) -> bytes:
    """Apply the receiver rule of §3.3: Binary is JSON text, Base64 is base64 of JSON text."""
    if fmt is EncodingFormat.JSON or fmt is EncodingFormat.BINARY:
        return data
    if fmt is EncodingFormat.BASE64:
        try:
            return base64.b64decode(data, validate=True)
        except binascii.Error as exc:
            raise MessageDecodeError(f"Base64 frame payload is not valid base64: {exc}") from exc
    raise FrameError(f"payload format {fmt.value} cannot be decoded")
