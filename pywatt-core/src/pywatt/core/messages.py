"""Op-tagged control messages, byte-compatible with the Rust SDK's serde output (§2).

Models declare fields in Rust order so pydantic emits them in wire order; decoding is strict
(serde rejects ``"200"`` for a ``u16``, ``null`` for a ``String``) but ignores unknown keys.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from types import UnionType
from typing import (
    Annotated,
    Any,
    ClassVar,
    Generic,
    Literal,
    NamedTuple,
    TypeVar,
    Union,
    get_args,
    get_origin,
)

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_serializer,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticSerializationError, to_json

from pywatt.core._bodies import (
    FAST_PATH_MIN,
    null_sentinel,
    render_octets,
    sentinel_at,
    split_body,
)
from pywatt.core._wire import JsonValue, WireBytes, encode
from pywatt.core.addresses import ListenAddress, SocketAddr, parse_listen_address
from pywatt.core.envelope import EncodedMessage
from pywatt.core.errors import (
    MessageDecodeError,
    MessageEncodeError,
    MessageValidationError,
    UnknownOpError,
)

__all__ = [
    "REPLY_ENDPOINT",
    "Announce",
    "CustomServiceType",
    "DiscoverServiceProviders",
    "DiscoverServiceProvidersResponse",
    "EndpointInfo",
    "GetSecret",
    "Heartbeat",
    "HeartbeatAck",
    "HttpRequest",
    "HttpResponse",
    "Init",
    "InitBlob",
    "IpcChannelConfig",
    "ListenAddress",
    "ModuleToOrchestrator",
    "OrchestratorToModule",
    "PortRequest",
    "PortResponse",
    "RegisterServiceProvider",
    "RegisterServiceProviderResponse",
    "Rotated",
    "RotationAck",
    "RouteToModule",
    "RoutedModuleMessage",
    "RoutedModuleResponse",
    "Secret",
    "SecurityLevel",
    "ServiceOperation",
    "ServiceOperationResult",
    "ServiceProviderInfo",
    "ServiceRequest",
    "ServiceResponse",
    "ServiceType",
    "Shutdown",
    "StdioHttpResponse",
    "TcpChannelConfig",
    "decode_init",
    "decode_m2o",
    "decode_module_line",
    "decode_o2m",
    "encode",
    "new_message_id",
    "oversized_http_request_id",
    "parse_listen_address",
    "stdio_http_response",
]


def _is_none(value: object) -> bool:
    return value is None


U16 = Annotated[int, Field(ge=0, le=65535)]
SecurityLevel = Literal["None", "Token", "Mtls"]


class _Wire(BaseModel):
    """Base of every wire model: unknown keys are ignored, as serde ignores them.

    Validators are built on first use, not at import: a module process uses a few models of
    one direction, and building all of them costs tens of milliseconds at start-up.
    """

    model_config = ConfigDict(defer_build=True)


# --- atoms -----------------------------------------------------------------------------------


class CustomServiceType(BaseModel, frozen=True, defer_build=True):
    """``ServiceType::Custom(name)``, written ``{"Custom": name}``.

    Built on first use like the wire models (it is not one: it carries no ``op``).
    """

    name: str

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, dict) and "Custom" in value:
            if len(value) != 1:
                raise ValueError("a custom service type is an object with the single key Custom")
            return {"name": value["Custom"]}
        if info.mode == "json":
            raise ValueError('expected "Database", "Cache", "Jwt" or {"Custom": name}')
        return value

    @model_serializer(mode="plain")
    def _to_wire(self) -> dict[str, str]:
        return {"Custom": self.name}


ServiceType = Union[Literal["Database", "Cache", "Jwt"], CustomServiceType]  # noqa: UP007


class EndpointInfo(_Wire):
    path: str
    methods: list[str]
    auth: str | None = Field(default=None, exclude_if=_is_none)


class TcpChannelConfig(_Wire):
    address: SocketAddr
    tls_enabled: bool
    required: bool


class IpcChannelConfig(_Wire):
    socket_path: str
    required: bool


class InitBlob(_Wire):
    """The first stdin line; parsed bare, so an ``op`` key is just ignored."""

    orchestrator_api: str
    module_id: str
    env: dict[str, str]
    listen: ListenAddress
    tcp_channel: TcpChannelConfig | None = Field(default=None, exclude_if=_is_none)
    ipc_channel: IpcChannelConfig | None = Field(default=None, exclude_if=_is_none)
    auth_token: str | None = Field(default=None, exclude_if=_is_none)
    security_level: SecurityLevel = "None"


class ServiceProviderInfo(_Wire):
    provider_id: str
    module_id: str
    service_type: ServiceType
    name: str
    version: str | None = None
    address: str
    metadata: dict[str, str]
    is_healthy: bool


def _params_echo(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


# --- module -> orchestrator ------------------------------------------------------------------


class Announce(_Wire):
    op: Literal["announce"] = "announce"
    listen: str
    endpoints: list[EndpointInfo]


class GetSecret(_Wire):
    op: Literal["get_secret"] = "get_secret"
    name: str


class RotationAck(_Wire):
    op: Literal["rotation_ack"] = "rotation_ack"
    rotation_id: str
    status: str
    message: str | None = Field(default=None, exclude_if=_is_none)


class RegisterServiceProvider(_Wire):
    op: Literal["register_service_provider"] = "register_service_provider"
    service_type: ServiceType
    name: str
    version: str | None = None
    address: str
    metadata: dict[str, str] | None = None


class DiscoverServiceProviders(_Wire):
    op: Literal["discover_service_providers"] = "discover_service_providers"
    service_type: ServiceType
    all_providers: bool | None = None


class ServiceRequest(_Wire):
    # Carries serde_json::Value fields, the one place a float can appear.
    __wire_values__: ClassVar[bool] = True
    op: Literal["service_request"] = "service_request"
    id: str
    service_type: ServiceType
    config: JsonValue = None


class ServiceOperation(_Wire):
    # Carries serde_json::Value fields, the one place a float can appear.
    __wire_values__: ClassVar[bool] = True
    op: Literal["service_operation"] = "service_operation"
    connection_id: str
    service_type: ServiceType
    operation: str
    params: JsonValue


class HttpResponse(_Wire):
    op: Literal["http_response"] = "http_response"
    request_id: str
    status_code: U16
    headers: dict[str, str]
    body: WireBytes | None = None


class PortRequest(_Wire):
    op: Literal["port_request"] = "port_request"
    request_id: str
    specific_port: U16 | None = None


#: pywatt's reply extension to §7.5: a ``route_to_module`` to this ``target_endpoint`` answers
#: the request with its ``request_id``. The pywatt dev orchestrator delivers it to the sender
#: as ``routed_module_response``; an orchestrator without the extension forwards it as is.
REPLY_ENDPOINT = "__pywatt_reply__"


class RouteToModule(_Wire):
    op: Literal["route_to_module"] = "route_to_module"
    target_module_id: str
    target_endpoint: str
    request_id: uuid.UUID
    payload: EncodedMessage


class HeartbeatAck(_Wire):
    op: Literal["heartbeat_ack"] = "heartbeat_ack"


# --- orchestrator -> module ------------------------------------------------------------------


class _InitOp(_Wire):
    op: Literal["init"] = "init"


class Init(InitBlob, _InitOp):
    """``init`` as a tagged variant; the MRO puts ``op`` before the InitBlob fields."""


class Secret(_Wire):
    op: Literal["secret"] = "secret"
    name: str
    value: str
    rotation_id: str | None = Field(default=None, exclude_if=_is_none)


class Rotated(_Wire):
    op: Literal["rotated"] = "rotated"
    keys: list[str]
    rotation_id: str


class Shutdown(_Wire):
    op: Literal["shutdown"] = "shutdown"


class RegisterServiceProviderResponse(_Wire):
    op: Literal["register_service_provider_response"] = "register_service_provider_response"
    success: bool
    provider_id: str | None = None
    error: str | None = None


class DiscoverServiceProvidersResponse(_Wire):
    op: Literal["discover_service_providers_response"] = "discover_service_providers_response"
    success: bool
    providers: list[ServiceProviderInfo]
    error: str | None = None


class ServiceResponse(_Wire):
    op: Literal["service_response"] = "service_response"
    id: str
    service_type: ServiceType
    success: bool
    error: str | None = None
    connection_id: str | None = None


class ServiceOperationResult(_Wire):
    """``params`` is the orchestrator's echo of the operation (§7.3.3): read, never written."""

    # Carries serde_json::Value fields, the one place a float can appear.
    __wire_values__: ClassVar[bool] = True

    op: Literal["service_operation_result"] = "service_operation_result"
    success: bool
    result: JsonValue = None
    error: str | None = None
    params: Annotated[dict[str, Any] | None, BeforeValidator(_params_echo)] = Field(
        default=None, exclude=True
    )


class HttpRequest(_Wire):
    op: Literal["http_request"] = "http_request"
    request_id: str
    method: str
    uri: str
    headers: dict[str, str]
    body: WireBytes | None = None


class PortResponse(_Wire):
    op: Literal["port_response"] = "port_response"
    request_id: str
    success: bool
    port: U16
    error_message: str | None = None


class RoutedModuleMessage(_Wire):
    op: Literal["routed_module_message"] = "routed_module_message"
    source_module_id: str
    original_request_id: uuid.UUID
    payload: EncodedMessage


class RoutedModuleResponse(_Wire):
    op: Literal["routed_module_response"] = "routed_module_response"
    source_module_id: str
    request_id: uuid.UUID
    payload: EncodedMessage


class Heartbeat(_Wire):
    op: Literal["heartbeat"] = "heartbeat"


ModuleToOrchestrator = Annotated[
    Union[  # noqa: UP007
        Announce,
        GetSecret,
        RotationAck,
        RegisterServiceProvider,
        DiscoverServiceProviders,
        ServiceRequest,
        ServiceOperation,
        HttpResponse,
        PortRequest,
        RouteToModule,
        HeartbeatAck,
    ],
    Field(discriminator="op"),
]
OrchestratorToModule = Annotated[
    Union[  # noqa: UP007
        Init,
        Secret,
        Rotated,
        Shutdown,
        RegisterServiceProviderResponse,
        DiscoverServiceProvidersResponse,
        ServiceResponse,
        ServiceOperationResult,
        HttpRequest,
        PortResponse,
        RoutedModuleMessage,
        RoutedModuleResponse,
        Heartbeat,
    ],
    Field(discriminator="op"),
]

_A = TypeVar("_A")


class _Adapter(Generic[_A]):
    """A ``TypeAdapter`` built on first use: a module never decodes its own direction."""

    __slots__ = ("_adapter", "_type", "validate_json")

    def __init__(self, type_: Any) -> None:
        self._type = type_
        self._adapter: TypeAdapter[_A] | None = None
        #: ``validate_json(data, strict=True)``: after the first call, the validator's own
        #: method, without TypeAdapter's per-call Python layer (a tenth of a small decode).
        self.validate_json: Callable[..., _A] = self._first_validate_json

    def get(self) -> TypeAdapter[_A]:
        if self._adapter is None:
            self._adapter = TypeAdapter(self._type)
        return self._adapter

    def _first_validate_json(self, data: Data, *, strict: bool) -> _A:
        self.validate_json = self.get().validator.validate_json
        return self.validate_json(data, strict=strict)


_M2O: _Adapter[ModuleToOrchestrator] = _Adapter(ModuleToOrchestrator)
_O2M: _Adapter[OrchestratorToModule] = _Adapter(OrchestratorToModule)
_INIT: _Adapter[InitBlob] = _Adapter(InitBlob)


# Only these carry serde_json::Value fields, the one place a float can appear.
def _raise_typed(exc: ValidationError, what: str, tagged: bool = True) -> None:
    first = exc.errors(include_url=False)[0]
    kind = first["type"]
    if kind == "json_invalid":
        raise MessageDecodeError(f"{what}: {first['msg']}") from exc
    if kind in ("dict_type", "model_type") and not first["loc"]:
        raise MessageDecodeError(f"{what}: expected a JSON object") from exc
    if kind == "union_tag_not_found":
        raise UnknownOpError(None) from exc
    if kind == "union_tag_invalid":
        tags = first.get("ctx", {}).get("expected_tags", "")
        op = first["input"].get("op") if isinstance(first["input"], dict) else None
        raise UnknownOpError(op, re.findall(r"'([^']*)'", tags)) from exc
    loc = [str(p) for p in first["loc"]][1 if tagged else 0 :]
    raise MessageValidationError(f"{what}: field {'.'.join(loc)!r}: {first['msg']}") from exc


class _KeyCheck(NamedTuple):
    """What the duplicate-field check of one model needs, built once per model."""

    names: frozenset[str]
    findall: Callable[[bytes | bytearray], list[bytes]]
    #: Fields typed ``str`` (or ``str | None``, or a Literal of strings) and ``dict[str, str]``
    #: (or ``| None``); None when a model validator may set fields no key of the line spelled.
    strings: tuple[frozenset[str], frozenset[str]] | None


_KEY_CHECKS: dict[type[BaseModel], _KeyCheck] = {}


def _string_kind(field: FieldInfo) -> type | None:
    """``str`` or ``dict`` when the field's value is a JSON string or a string map, else None."""
    if field.metadata:
        return None
    annotation = field.annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        annotation = args[0]
    if annotation is str:
        return str
    if get_origin(annotation) is Literal and all(type(a) is str for a in get_args(annotation)):
        return str
    if get_origin(annotation) is dict and get_args(annotation) == (str, str):
        return dict
    return None


def _key_check(model: type[BaseModel]) -> _KeyCheck:
    names = frozenset(("op", *model.model_fields))
    alternatives = b"|".join(re.escape(n.encode()) for n in sorted(names))
    decorators = model.__pydantic_decorators__
    kinds = {name: _string_kind(field) for name, field in model.model_fields.items()}
    found = _KeyCheck(
        names,
        re.compile(b'"(' + alternatives + rb')"\s*:').findall,
        None
        if decorators.model_validators or decorators.field_validators
        else (
            frozenset(n for n, k in kinds.items() if k is str),
            frozenset(n for n, k in kinds.items() if k is dict),
        ),
    )
    _KEY_CHECKS[model] = found
    return found


def _check_duplicate_fields(data: bytes | bytearray | str, msg: BaseModel) -> None:
    """serde rejects a repeated struct field; jiter keeps the last one, so look when it can be.

    Only the message's own fields count (``op`` included): serde skips unknown keys unread, and
    map-valued fields (``headers``, ``env``) keep their last value, as in Rust. Keys compare as
    decoded: ``"\\u006fp"`` is ``op``.

    In a line without a backslash every ``"`` opens or closes a string, so the line holds
    exactly ``count('"') / 2`` strings. The decoded fields account for some of them, each a
    distinct one: the key of each field present (its last spelling), each ``str`` value, each
    key and value of a ``dict[str, str]``. When the two numbers are equal no key can be there
    twice, since a repeated field's earlier key would be one string more. That count is the
    cheap first test (a regex pass over every byte cost a quarter of decoding an
    ``http_request``); a line with other strings (unknown keys, nested values) takes the regex
    pass, valid since without escapes every ``"name":`` is a key; a line with escapes has its
    keys read for real.
    """
    raw = data.encode() if isinstance(data, str) else data
    check = _KEY_CHECKS.get(type(msg)) or _key_check(type(msg))
    if b"\\" not in raw:
        if check.strings is not None:
            values = msg.__dict__
            texts, maps = check.strings
            known = 0
            for name in msg.__pydantic_fields_set__:
                known += 1
                if name in texts:
                    known += values[name] is not None
                elif name in maps and type(values[name]) is dict:
                    known += 2 * len(values[name])
            if raw.count(b'"') == 2 * known:
                return
        seen = check.findall(raw)
        if len(seen) == len(set(seen)):
            return
    names = check.names
    try:
        pairs = json.loads(raw, object_pairs_hook=lambda kv: kv)
    except ValueError:
        return  # the real parse already accepted it; nothing more to learn
    if not isinstance(pairs, list):
        return
    keys = [key for key, _ in pairs if key in names]
    for name in keys:
        if keys.count(name) > 1:
            raise MessageValidationError(f"duplicate field `{name}`")


_M = TypeVar("_M")
Data = bytes | bytearray | str


def _decode(adapter: _Adapter[_M], data: Data, what: str, *, tagged: bool = True) -> _M:
    """One strict parse on a prebuilt adapter, with serde's errors as typed ones."""
    if len(data) >= FAST_PATH_MIN and not isinstance(data, str):

        def again(rest: bytes) -> _M:
            return _decode(adapter, rest, what, tagged=tagged)

        large = _decode_with_body(data, ("body",), again)
        if large is not None:
            return large
    try:
        msg = adapter.validate_json(data, strict=True)
    except ValidationError as exc:
        _raise_typed(exc, what, tagged=tagged)
        raise
    _check_duplicate_fields(data, msg)  # type: ignore[arg-type]
    return msg


def _decode_with_body(
    data: bytes | bytearray, path: tuple[str, ...], decode: Callable[[bytes], _M]
) -> _M | None:
    """Decode a long line whose byte body sits at ``path`` without an int object per byte.

    None means "take the generic path": the line is not of that shape, or is invalid (the
    generic path then reports exactly why).
    """
    split = split_body(data)
    if split is None:
        return None
    rest, body = split
    try:
        shape = json.loads(rest)
    except ValueError:
        return None
    if not sentinel_at(shape, path):
        return None
    msg = decode(null_sentinel(rest))
    if not isinstance(msg, BaseModel) or "body" not in type(msg).model_fields:
        return None
    if getattr(msg, "body", b"") is not None:
        return None
    return msg.model_copy(update={"body": body})


def decode_o2m(data: Data) -> OrchestratorToModule:
    """Parse one orchestrator→module line or frame."""
    return _decode(_O2M, data, "orchestrator message")


def decode_m2o(data: Data) -> ModuleToOrchestrator:
    """Parse one module→orchestrator line or enveloped ``content``."""
    return _decode(_M2O, data, "module message")


def decode_init(data: Data) -> InitBlob:
    """Parse the init line as a bare InitBlob (an ``op`` key, if any, is ignored)."""
    return _decode(_INIT, data, "init", tagged=False)


# --- the stdio HTTP response wrapper (§5.1) ---------------------------------------------------


class StdioHttpResponse(_Wire):
    """The un-tagged ``{"content": IpcHttpResponse, "metadata": {...}}`` stdout line."""

    request_id: str
    status_code: U16
    headers: dict[str, str]
    body: WireBytes | None = None
    metadata: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, value: Any) -> Any:
        if isinstance(value, dict) and "content" in value:
            content = value["content"]
            if not isinstance(content, dict):
                raise ValueError("content must be an object")
            return {**content, "metadata": value.get("metadata")}
        return value


_STDIO: _Adapter[StdioHttpResponse] = _Adapter(StdioHttpResponse)


_ids: Iterator[int] = itertools.count()
_id_prefix = ""


def _new_id_prefix() -> None:
    global _id_prefix, _ids
    r = secrets.token_hex(10)
    # A UUID v4 layout: version nibble 4, variant 8-b; 74 random bits, then a 48-bit counter.
    _id_prefix = f"{r[:8]}-{r[8:12]}-4{r[12:15]}-{'89ab'[int(r[15], 16) & 3]}{r[16:19]}-"
    _ids = itertools.count()


_new_id_prefix()
os.register_at_fork(after_in_child=_new_id_prefix)


def new_message_id() -> str:
    """A fresh UUID v4 string, unique in this process, for ``metadata.id``.

    The protocol needs uniqueness only; a random prefix per process and a counter give it for
    a fraction of ``uuid4()``'s cost, which was a measurable share of each stdio response.
    """
    return f"{_id_prefix}{next(_ids):012x}"


def stdio_http_response(
    request_id: str,
    status_code: int,
    headers: dict[str, str],
    body: bytes | None,
    *,
    source: str,
    message_id: str | None = None,
) -> bytes | bytearray:
    """The stdout line answering a stdio ``http_request``: every object has sorted keys."""
    if not 0 <= status_code <= 65535:
        raise MessageEncodeError(f"status_code {status_code} is not a u16")
    large = body is not None and len(body) >= FAST_PATH_MIN
    line = {
        "content": {
            "body": None if body is None or large else list(body),
            "headers": dict(sorted(headers.items())),
            "request_id": request_id,
            "status_code": status_code,
        },
        "metadata": {
            "id": message_id if message_id is not None else new_message_id(),
            "properties": {"correlation_id": request_id},
            "source": source,
        },
    }
    try:
        data = to_json(line)
    except PydanticSerializationError as exc:
        raise MessageEncodeError(f"cannot encode the HTTP response: {exc}") from exc
    if not large:
        return data
    # "body" is the first key of "content": splice the array in where the null is.
    assert body is not None
    head = b'{"content":{"body":null'
    out = bytearray(b'{"content":{"body":')
    render_octets(body, out)
    out += memoryview(data)[len(head) :]
    return out


_HTTP_REQUEST_OP = re.compile(rb'"op"\s*:\s*"http_request"')
_REQUEST_ID = re.compile(rb'"request_id"\s*:\s*("(?:[^"\\]|\\.){0,512}")')


def oversized_http_request_id(head: bytes, tail: bytes) -> str | None:
    """The ``request_id`` of an ``http_request`` line known only by its two ends, if any.

    Outside a string a ``"name"`` token is always a key (inside one its quotes are escaped),
    so the two searches cannot be fooled by header values. The reference writes the id near
    the start; it may also come after the body, hence the tail.
    """
    if not (_HTTP_REQUEST_OP.search(head) or _HTTP_REQUEST_OP.search(tail)):
        return None
    found = _REQUEST_ID.search(head)
    if found is None:
        matches = list(_REQUEST_ID.finditer(tail))
        found = matches[-1] if matches else None
    if found is None:
        return None
    try:
        value = json.loads(found.group(1))
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def decode_module_line(data: Data) -> ModuleToOrchestrator | StdioHttpResponse:
    """Orchestrator side of stdout: an op-tagged message, or else the HTTP response wrapper."""
    if len(data) >= FAST_PATH_MIN and not isinstance(data, str):
        for path in (("content", "body"), ("body",)):
            large = _decode_with_body(data, path, decode_module_line)
            if large is not None:
                return large
    if not isinstance(data, str) and b'"op"' not in data and b"\\" not in data:
        # No "op" key can be in it (none escaped either), so the tagged parse could only fail
        # over to the wrapper: the per-request HTTP response skips that failed parse. Errors
        # still come from the full path below.
        try:
            return _STDIO.get().validate_json(data, strict=True)
        except ValidationError:
            pass
    try:
        msg = _M2O.validate_json(data, strict=True)
    except ValidationError as exc:
        if exc.errors(include_url=False)[0]["type"] != "union_tag_not_found":
            _raise_typed(exc, "module message")
            raise
    else:
        _check_duplicate_fields(data, msg)
        return msg
    try:
        return _STDIO.validate_json(data, strict=True)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "missing" and first["loc"] in (("request_id",), ("metadata",)):
            raise UnknownOpError(None) from exc
        _raise_typed(exc, "stdio HTTP response", tagged=False)
        raise
