"""Conformance over every entry of the protocol vector files; dispatch is on entry fields."""

from __future__ import annotations

import json
import os
import re
import typing
import uuid
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from pywatt.core import messages as m, service_models as services
from pywatt.core._wire import dumps
from pywatt.core.envelope import (
    EncodedMessage,
    EncodingFormat,
    FrameDecoder,
    decode_envelope,
    encode_envelope,
    encode_frame,
    frame_payload_to_json,
)
from pywatt.core.errors import (
    FrameError,
    MessageDecodeError,
    MessageEncodeError,
    ProtocolError,
    UnknownOpError,
)


def test_every_kind_of_vector_is_found(all_vectors):
    # The contract ships all five kinds; an empty one means the folder was not found or read.
    for kind, entries in all_vectors.items():
        assert entries, f"no {kind} entries in the vectors folder"


def _ops(union: Any) -> set[str]:
    members = typing.get_args(typing.get_args(union)[0])
    return {cls.model_fields["op"].default for cls in members}


def _decode_tagged_or_init(direction: str, text: str) -> BaseModel:
    obj = json.loads(text)
    if direction.startswith("module_to_orchestrator"):
        return m.decode_m2o(text)
    if "op" not in obj:  # the init line is the one un-tagged o2m shape
        return m.decode_init(text)
    return m.decode_o2m(text)


def _assert_same_json(produced: bytes, expected: str, byte_exact: bool) -> None:
    if byte_exact:
        assert produced.decode() == expected
    else:
        assert json.loads(produced) == json.loads(expected)


def _assert_unencodable(entry: dict[str, Any]) -> None:
    """A vector serde refused to serialize must be impossible to produce here as well."""
    error = entry["serialize_error"]
    variant = re.search(r"tagged newtype variant (\w+)::(\w+)", error)
    if variant:
        union = {"ModuleToOrchestrator": m.ModuleToOrchestrator}.get(variant.group(1))
        union = union or m.OrchestratorToModule
        op = re.sub(r"(?<!^)([A-Z])", r"_\1", variant.group(2)).lower()
        assert op not in _ops(union)
        decode = m.decode_m2o if union is m.ModuleToOrchestrator else m.decode_o2m
        with pytest.raises(UnknownOpError):
            decode(json.dumps({"op": op, "module_id": "m"}))
        return
    if "invalid UTF-8" in error:
        listen = m.parse_listen_address(os.fsdecode(b"/tmp/\xff.sock"))
        blob = m.Init(orchestrator_api="x", module_id="m", env={}, listen=listen)
        with pytest.raises(MessageEncodeError):
            m.encode(blob)
        return
    pytest.fail(f"unrecognised serialize_error, teach the test about it: {error}")


def test_ipc_vector(ipc_vector):
    if not ipc_vector["valid"]:
        _assert_unencodable(ipc_vector)
        return
    text = ipc_vector["json"]
    msg = _decode_tagged_or_init(ipc_vector["direction"], text)
    _assert_same_json(m.encode(msg), text, ipc_vector.get("byte_exact", True))
    again = _decode_tagged_or_init(ipc_vector["direction"], m.encode(msg).decode())
    assert type(again) is type(msg)
    assert again == msg
    if isinstance(msg, m.InitBlob):  # read_init takes the tagged and the bare form alike
        blob = m.decode_init(text)
        assert blob.model_dump() == {k: v for k, v in msg.model_dump().items() if k != "op"}


_DECODERS = {
    "OrchestratorToModule": m.decode_o2m,
    "ModuleToOrchestrator": m.decode_m2o,
    "InitBlob": m.decode_init,
    "DatabaseConfig": services.decode_database_config,
}


def _decode_target(target: str, text: str) -> bytes:
    """Decode as ``target`` and return the canonical re-serialization."""
    if target.startswith("Message<"):
        env = decode_envelope(text)
        inner = target[len("Message<") : -1]
        content = env.content_as_m2o() if inner == "ModuleToOrchestrator" else env.content
        return encode_envelope(content, id=env.id, metadata=env.metadata)
    decoder = _DECODERS.get(target.split(" ")[0])
    if decoder is None:
        pytest.fail(f"unknown target_type {target!r}, teach the test about it")
    return m.encode(decoder(text))


def test_invalid_input(invalid_input):
    text, target = invalid_input["json"], invalid_input["target_type"]
    if invalid_input["valid"] and not text.lstrip().startswith("["):
        assert _decode_target(target, text).decode() == invalid_input["reserialized"]
    else:
        # Rejected by serde (or the seq form, which the contract lets us reject).
        with pytest.raises(ProtocolError):
            _decode_target(target, text)


def test_envelope_vector(envelope_vector):
    if not envelope_vector["valid"]:
        _assert_unencodable(envelope_vector)
        return
    text = envelope_vector["json"]
    env = decode_envelope(text)
    tagged = isinstance(env.content, dict) and "op" in env.content
    content = env.content_as_m2o() if tagged else env.content
    produced = encode_envelope(content, id=env.id, metadata=env.metadata)
    _assert_same_json(produced, text, envelope_vector.get("byte_exact", True))

    frame = bytes.fromhex(envelope_vector["frame_hex"])
    assert encode_frame(text.encode()) == frame
    assert list(FrameDecoder().feed(frame)) == [(EncodingFormat.JSON, text.encode())]

    encoded = EncodedMessage(data=text.encode(), format=EncodingFormat.JSON)
    assert encoded.model_dump_json() == envelope_vector["encoded_message_json"]
    assert EncodedMessage.model_validate_json(envelope_vector["encoded_message_json"]) == encoded


def _uuids_as_text(value: Any) -> Any:
    if isinstance(value, bytes) and len(value) == 16:
        return str(uuid.UUID(bytes=value))
    if isinstance(value, dict):
        return {k: _uuids_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_uuids_as_text(v) for v in value]
    return value


def test_envelope_vector_msgpack_named_form(envelope_vector):
    import msgpack  # a test dependency only: pywatt-core never sends msgpack

    if not envelope_vector["valid"]:
        # serde refused every format: there must be no rendering to compare against.
        assert "msgpack_named_hex" not in envelope_vector
        assert envelope_vector.get("msgpack_named_error")
        return
    unpacked = msgpack.unpackb(bytes.fromhex(envelope_vector["msgpack_named_hex"]), raw=False)
    assert _uuids_as_text(unpacked) == json.loads(envelope_vector["json"])


_ATOMS: dict[str, TypeAdapter[Any]] = {
    "service_type": TypeAdapter(m.ServiceType),
    "security_level": TypeAdapter(m.SecurityLevel),
    "encoding_format": TypeAdapter(EncodingFormat),
    "health_status": TypeAdapter(services.HealthStatus),
    "database_type": TypeAdapter(services.DatabaseType),
    "cache_type": TypeAdapter(services.CacheType),
    "cache_policy": TypeAdapter(services.CachePolicy),
    "uuid": TypeAdapter(uuid.UUID),
    "listen": TypeAdapter(m.ListenAddress),
    "duration": TypeAdapter(services.Duration),
    "proxy_db_row": TypeAdapter(services.DatabaseRow),
}


def _check_atom(entry: dict[str, Any]) -> None:
    text = entry["json"]
    if "parsed_as" in entry:
        addr = m.parse_listen_address(json.loads(text))
        kind, _, inner = entry["parsed_as"].partition("(")
        inner = inner[:-1]
        assert ("Tcp" if addr.is_tcp else "Unix") == kind
        assert str(addr) == (json.loads(inner) if kind == "Unix" else inner)
        return
    # Atom names are "atom.<type>.<case>"; the type segment picks the adapter.
    category = entry["name"].split(".")[1]
    adapter = _ATOMS.get(category)
    if adapter is None:
        pytest.fail(f"no adapter for atom type {category!r}, add one to _ATOMS")
    value = adapter.validate_json(text, strict=True)
    assert adapter.dump_json(value).decode() == text


def _check_frame(entry: dict[str, Any]) -> None:
    frame = bytes.fromhex(entry["frame_hex"])
    follower = encode_frame(b'{"op":"heartbeat"}')
    decoder = FrameDecoder()
    if not entry["valid"]:
        with pytest.raises(FrameError):
            list(decoder.feed(frame + follower))
        # The bad frame was consumed whole, so the stream is still aligned.
        assert list(decoder.feed(b"")) == [(EncodingFormat.JSON, b'{"op":"heartbeat"}')]
        return
    [(fmt, data)] = list(decoder.feed(frame))
    assert encode_frame(data, fmt) == frame
    if "json" in entry:
        assert data.decode() == entry["json"]
    payload = frame_payload_to_json(fmt, data)
    try:
        msg = m.decode_o2m(payload)
    except MessageDecodeError:
        with pytest.raises(json.JSONDecodeError):
            json.loads(payload)
    else:
        assert json.loads(m.encode(msg)) == json.loads(payload)


def _check_module_line(entry: dict[str, Any]) -> None:
    text = entry["json"]
    line = m.decode_module_line(text)
    if isinstance(line, m.StdioHttpResponse):
        produced = m.stdio_http_response(
            line.request_id,
            line.status_code,
            line.headers,
            line.body,
            source=line.metadata["source"],
            message_id=line.metadata["id"],
        )
    else:
        produced = m.encode(line)
    _assert_same_json(produced, text, entry.get("byte_exact", True))
    if entry.get("parses_as_ModuleToOrchestrator") is False:
        with pytest.raises(ProtocolError):
            m.decode_m2o(text)
    if "parses_as_Message_IpcHttpResponse" in entry:
        with pytest.raises(ProtocolError):
            decode_envelope(text)


def _check_msgpack(entry: dict[str, Any]) -> None:
    import msgpack

    unpacked = msgpack.unpackb(bytes.fromhex(entry["msgpack_hex"]), raw=False)
    if isinstance(unpacked, list):  # compact form: [op, fields...]; the seq form we reject
        assert unpacked[0] in _ops(m.ModuleToOrchestrator) | _ops(m.OrchestratorToModule)
        return
    text = json.dumps(unpacked)
    for decode in (m.decode_o2m, m.decode_m2o):
        try:
            msg = decode(text)
        except UnknownOpError:
            continue
        assert msgpack.packb(json.loads(m.encode(msg))) == bytes.fromhex(entry["msgpack_hex"])
        return
    pytest.fail(f"msgpack map decodes in neither direction: {unpacked}")


def test_other_vector(other_vector):
    direction = other_vector["direction"]
    if direction == "atom":
        _check_atom(other_vector)
    elif "frame" in direction:
        _check_frame(other_vector)
    elif direction in ("module_to_orchestrator", "orchestrator_to_module"):
        _check_module_line(other_vector)
    elif direction == "nested":
        value = EncodedMessage.model_validate_json(other_vector["json"], strict=True)
        assert value.model_dump_json() == other_vector["json"]
    elif direction == "http_body":
        assert dumps(json.loads(other_vector["json"])).decode() == other_vector["json"]
    elif direction == "msgpack_reference_only":
        _check_msgpack(other_vector)
    else:
        pytest.fail(f"unknown direction {direction!r}, teach the test about it")


def test_log_sample_shape(log_sample):
    import logging

    from pywatt.core import logs

    sample = json.loads(log_sample["line"])
    fields = dict(sample["fields"])
    message = fields.pop("message")
    record = logging.LogRecord(
        sample["target"], getattr(logging, sample["level"]), __file__, 1, message, None, None
    )
    record.__dict__.update(fields)
    produced = json.loads(logs.JsonLogFormatter().format(record))
    assert list(produced)[:4] == ["timestamp", "level", "fields", "target"]
    assert list(sample)[:4] == ["timestamp", "level", "fields", "target"]
    assert produced["level"] == sample["level"]
    assert list(produced["fields"]) == list(sample["fields"])
    assert produced["fields"] == sample["fields"]
    assert produced["target"] == sample["target"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", produced["timestamp"])


def test_validation_error_names_the_field():
    with pytest.raises(ProtocolError, match="status_code"):
        m.decode_m2o('{"op":"http_response","request_id":"r","status_code":-1,"headers":{}}')
    with pytest.raises(ValidationError):
        m.HttpResponse(request_id="r", status_code=70000, headers={}, body=None)
