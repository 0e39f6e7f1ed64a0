from __future__ import annotations

import base64
import uuid

import pytest

from pywatt.core import messages as m
from pywatt.core.envelope import (
    EncodedMessage,
    EncodingFormat,
    FrameDecoder,
    MessageMetadata,
    decode_envelope,
    encode_envelope,
    encode_frame,
    frame_payload_to_json,
)
from pywatt.core.errors import (
    FrameError,
    MessageDecodeError,
    MessageValidationError,
    OversizedMessageError,
)

ID = uuid.UUID("6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b")


def test_envelope_with_model_content_and_empty_metadata():
    wire = encode_envelope(m.HeartbeatAck(), id=ID)
    assert (
        wire == b'{"id":"' + str(ID).encode() + b'","content":{"op":"heartbeat_ack"},"metadata":{}}'
    )
    env = decode_envelope(wire)
    assert env.id == ID
    assert isinstance(env.content_as_m2o(), m.HeartbeatAck)


def test_metadata_omits_none_and_sorts_properties():
    meta = MessageMetadata(id="m1", destination="d", properties={"z": 1, "a": [1.5e20]})
    wire = encode_envelope("x", id=ID, metadata=meta)
    assert wire.endswith(
        b'"metadata":{"id":"m1","destination":"d","properties":{"a":[1.5e20],"z":1}}}'
    )


def test_fresh_envelope_ids_are_random_v4():
    first, second = (decode_envelope(encode_envelope({})).id for _ in range(2))
    assert first != second
    assert first.version == 4


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"nope", MessageDecodeError),
        (b'{"id":"%s","content":1,"metadata":null}' % str(ID).encode(), MessageValidationError),
        (b'{"content":1}', MessageValidationError),
        (b'{"id":"{%s}x","content":1}' % str(ID).encode(), MessageValidationError),
    ],
)
def test_bad_envelopes(data, error):
    with pytest.raises(error):
        decode_envelope(data)


def test_frame_decoder_handles_split_and_coalesced_chunks():
    frames = encode_frame(b'{"op":"heartbeat"}') + encode_frame(b"{}", EncodingFormat.BINARY)
    decoder = FrameDecoder()
    out = []
    for i in range(len(frames)):
        out.extend(decoder.feed(frames[i : i + 1]))
    assert out == [(EncodingFormat.JSON, b'{"op":"heartbeat"}'), (EncodingFormat.BINARY, b"{}")]
    assert decoder.buffered == 0


def test_frame_decoder_enforces_max_size():
    decoder = FrameDecoder(max_size=4)
    assert list(decoder.feed(encode_frame(b"1234"))) == [(EncodingFormat.JSON, b"1234")]
    with pytest.raises(OversizedMessageError):
        list(decoder.feed(encode_frame(b"12345")))


def test_auto_cannot_be_framed():
    with pytest.raises(FrameError):
        encode_frame(b"{}", EncodingFormat.AUTO)


def test_receiver_rule_for_non_json_formats():
    text = b'{"op":"heartbeat"}'
    assert frame_payload_to_json(EncodingFormat.BINARY, text) == text
    assert frame_payload_to_json(EncodingFormat.BASE64, base64.b64encode(text)) == text
    with pytest.raises(MessageDecodeError):
        frame_payload_to_json(EncodingFormat.BASE64, b"not base64!")


def test_encoded_message_json_form_and_decoding():
    enc = EncodedMessage.from_json_value({"a": 1})
    assert enc.model_dump_json() == '{"data":[123,34,97,34,58,49,125],"format":"Json"}'
    b64 = EncodedMessage(data=base64.b64encode(b"{}"), format=EncodingFormat.BASE64)
    assert b64.to_json_bytes() == b"{}"
    with pytest.raises(MessageDecodeError):
        EncodedMessage(data=b"{}", format=EncodingFormat.AUTO).to_json_bytes()
