from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, settings, strategies as st

from pywatt.core import messages as m
from pywatt.core._wire import fix_floats, format_float
from pywatt.core.errors import MessageDecodeError, MessageValidationError, UnknownOpError

text = st.text(max_size=20)
headers = st.dictionaries(text, text, max_size=4)
body = st.none() | st.binary(max_size=64)
u16 = st.integers(0, 65535)
json_leaf = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | text
json_leaf |= st.floats(allow_nan=False, allow_infinity=False)
json_value = st.recursive(
    json_leaf,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(text, kids, max_size=3),
    max_leaves=10,
)
service_type = st.sampled_from(["Database", "Cache", "Jwt"]) | st.builds(
    m.CustomServiceType, name=text
)

m2o_messages = st.one_of(
    st.builds(m.HttpResponse, request_id=text, status_code=u16, headers=headers, body=body),
    st.builds(m.PortRequest, request_id=text, specific_port=st.none() | u16),
    st.builds(m.RotationAck, rotation_id=text, status=text, message=st.none() | text),
    st.builds(
        m.ServiceOperation,
        connection_id=text,
        service_type=service_type,
        operation=text,
        params=json_value,
    ),
    st.builds(m.ServiceRequest, id=text, service_type=service_type, config=json_value),
    st.builds(
        m.Announce,
        listen=text,
        endpoints=st.lists(
            st.builds(m.EndpointInfo, path=text, methods=st.lists(text), auth=st.none() | text)
        ),
    ),
)
o2m_messages = st.one_of(
    st.builds(m.HttpRequest, request_id=text, method=text, uri=text, headers=headers, body=body),
    st.builds(m.Secret, name=text, value=text, rotation_id=st.none() | text),
    st.builds(m.PortResponse, request_id=text, success=st.booleans(), port=u16),
    st.builds(m.ServiceOperationResult, success=st.booleans(), result=json_value),
)


@given(m2o_messages)
def test_m2o_round_trip_is_stable(msg):
    wire = m.encode(msg)
    again = m.decode_m2o(wire)
    assert m.encode(again) == wire
    assert json.loads(wire)["op"] == msg.op


@given(o2m_messages)
def test_o2m_round_trip_is_stable(msg):
    wire = m.encode(msg)
    assert m.encode(m.decode_o2m(wire)) == wire


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_spelling_round_trips_and_has_no_plus(value):
    spelled = format_float(value)
    assert float(spelled) == value
    assert "+" not in spelled
    assert "e" in spelled or "." in spelled


@pytest.mark.parametrize(
    ("value", "spelled"),
    [(1e16, "1e16"), (1e15, "1000000000000000.0"), (1e-5, "0.00001"), (1.5e-5, "0.000015"),
     (1.25e-6, "1.25e-6"), (5e-324, "5e-324"), (-2.5e-10, "-2.5e-10")],
)  # fmt: skip
def test_float_spelling_matches_ryu_thresholds(value, spelled):
    assert format_float(value) == spelled


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet="0123456789.eE-+:,[]\\\"ab ", max_size=12),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@given(_json_values)
def test_fix_floats_prefilter_misses_no_float(value):
    """The cheap pre-check must never skip a document the exact rewrite would change."""
    from pydantic_core import to_json

    from pywatt.core._wire import _TOKEN, _refloat, fix_floats

    data = to_json(value)
    assert fix_floats(data) == _TOKEN.sub(_refloat, data)


def test_fix_floats_leaves_ids_addresses_and_versions_alone():
    data = b'{"id":"3e4f9a1b","addr":"10.0.0.1","v":"1.2.3","n":[1,2],"t":"12e5"}'
    assert fix_floats(data) is data  # no rewrite ran
    assert fix_floats(b'{"a":[1e+20,-2.0,3E-7]}') == b'{"a":[1e20,-2.0,3e-7]}'
    assert fix_floats(b"1.5e+300") == b"1.5e300"


def test_value_fields_sort_keys_and_reject_non_json():
    op = m.ServiceOperation(
        connection_id="c",
        service_type="Cache",
        operation="set",
        params={"b": 1, "a": {"z": 0, "y": 1}},
    )
    assert m.encode(op).endswith(b'"params":{"a":{"y":1,"z":0},"b":1}}')
    with pytest.raises(ValueError, match="NaN"):
        m.ServiceOperation(
            connection_id="c", service_type="Cache", operation="x", params=float("nan")
        )


def test_operation_result_keeps_params_echo_without_sending_it():
    line = (
        '{"op":"service_operation_result","success":true,"result":1,"error":null,'
        '"params":{"connection_id":"conn-1","operation":"execute"}}'
    )
    msg = m.decode_o2m(line)
    assert isinstance(msg, m.ServiceOperationResult)
    assert msg.params == {"connection_id": "conn-1", "operation": "execute"}
    assert b"params" not in m.encode(msg)
    odd = m.decode_o2m('{"op":"service_operation_result","success":false,"params":"x"}')
    assert isinstance(odd, m.ServiceOperationResult)
    assert odd.params is None


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b"\xff\xfe", MessageDecodeError),
        (b'{"op":"heartbeat"', MessageDecodeError),
        (b"[]", MessageDecodeError),
        (b'"heartbeat"', MessageDecodeError),
        (b'{"op":7}', UnknownOpError),
        (b'{"op":"Heartbeat"}', UnknownOpError),
        (b"{}", UnknownOpError),
        (b'{"op":"port_response","request_id":"r","success":true,"port":65536}',
         MessageValidationError),
        (b'{"op":"http_request","request_id":"r","method":"GET","uri":"/","headers":{},"body":[256]}',
         MessageValidationError),
        (b'{"op":"http_request","request_id":"r","method":"GET","uri":"/","headers":{"a":1}}',
         MessageValidationError),
        (b'{"op":"secret","op":"secret","name":"a","value":"b"}', MessageValidationError),
    ],
)  # fmt: skip
def test_bad_lines_get_typed_errors(line, error):
    with pytest.raises(error):
        m.decode_o2m(line)


def test_unknown_op_lists_known_ops():
    with pytest.raises(UnknownOpError) as info:
        m.decode_o2m('{"op":"frobnicate"}')
    assert info.value.op == "frobnicate"
    assert "heartbeat" in str(info.value)


def test_validation_error_message_names_the_field():
    with pytest.raises(MessageValidationError, match="specific_port"):
        m.decode_m2o('{"op":"port_request","request_id":"r","specific_port":"80"}')


@pytest.mark.parametrize(
    ("text", "tcp", "host", "port"),
    [
        ("127.0.0.1:0080", True, "127.0.0.1", 80),
        ("[0:0:0:0:0:0:0:1]:9", True, "::1", 9),
        ("[::ffff:10.0.0.1]:9", True, "::ffff:10.0.0.1", 9),
        ("[fe80::1%3]:80", True, "fe80::1", 80),
        ("01.2.3.4:80", False, None, None),
        ("1.2.3.4:-1", False, None, None),
        ("[::1]", False, None, None),
        ("1.2.3.4:\uff180", False, None, None),
    ],
)
def test_listen_address_parsing(text, tcp, host, port):
    addr = m.parse_listen_address(text)
    assert addr.is_tcp is tcp
    assert (addr.host, addr.port) == (host, port)
    if not tcp:
        assert addr.path == text
        assert str(addr) == text


def test_listen_address_renders_normalised_ipv6_with_scope():
    assert str(m.parse_listen_address("[0:0:0:0:0:0:0:1]:9")) == "[::1]:9"
    assert str(m.parse_listen_address("[fe80::1%3]:80")) == "[fe80::1%3]:80"


def test_tcp_channel_address_must_be_literal_ip():
    with pytest.raises(MessageValidationError, match="address"):
        m.decode_init(
            '{"orchestrator_api":"x","module_id":"m","env":{},"listen":"/s",'
            '"tcp_channel":{"address":"example.org:1","tls_enabled":false,"required":true}}'
        )


def test_custom_service_type_wire_form():
    msg = m.ServiceResponse(id="i", service_type=m.CustomServiceType(name="q"), success=True)
    assert b'"service_type":{"Custom":"q"}' in m.encode(msg)
    with pytest.raises(MessageValidationError):
        m.decode_o2m(
            '{"op":"service_response","id":"i","service_type":{"Custom":"q","x":1},"success":true}'
        )


def test_route_to_module_accepts_uuid_text_and_writes_lowercase():
    msg = m.RouteToModule(
        target_module_id="b",
        target_endpoint="e",
        request_id="123E4567-E89B-12D3-A456-426614174000",
        payload={"data": b"{}", "format": "Json"},
    )
    assert msg.request_id == uuid.UUID("123e4567-e89b-12d3-a456-426614174000")
    assert b'"request_id":"123e4567-e89b-12d3-a456-426614174000"' in m.encode(msg)


def test_decode_module_line_takes_both_stdout_shapes():
    wrapper = m.stdio_http_response(
        "r1", 201, {"b": "2", "a": "1"}, b"ok", source="mod", message_id="x"
    )
    assert wrapper.startswith(b'{"content":{"body":[111,107],"headers":{"a":"1","b":"2"}')
    parsed = m.decode_module_line(wrapper)
    assert isinstance(parsed, m.StdioHttpResponse)
    assert (parsed.request_id, parsed.status_code, parsed.body) == ("r1", 201, b"ok")
    assert parsed.metadata["properties"] == {"correlation_id": "r1"}
    assert isinstance(m.decode_module_line(b'{"op":"heartbeat_ack"}'), m.HeartbeatAck)
    with pytest.raises(UnknownOpError):
        m.decode_module_line(b'{"x":1}')


@pytest.mark.parametrize(
    ("decode", "line"),
    [
        (m.decode_o2m, '{"op":"secret","name":"A","value":"x","name":"B"}'),
        (m.decode_m2o, '{"op":"get_secret","name":"A","name":"B"}'),
        (
            m.decode_init,
            '{"orchestrator_api":"a","module_id":"m","module_id":"n","env":{},"listen":"/s"}',
        ),
    ],
)
def test_repeated_struct_field_is_rejected_like_serde(decode, line):
    with pytest.raises(MessageValidationError, match="duplicate field `"):
        decode(line)


@pytest.mark.parametrize(
    ("decode", "line"),
    [
        # An escaped second "op" once turned a heartbeat into a shutdown.
        (m.decode_o2m, r'{"op":"heartbeat","\u006fp":"shutdown"}'),
        (m.decode_o2m, r'{"\u006fp":"heartbeat","op":"shutdown"}'),
        (m.decode_o2m, r'{"op":"secret","name":"A","value":"x","n\u0061me":"B"}'),
        (
            m.decode_o2m,
            r'{"op":"http_request","request_id":"a","method":"GET","uri":"/",'
            r'"headers":{},"request\u005fid":"b"}',
        ),
        (m.decode_m2o, r'{"op":"get_secret","name":"A","\u006e\u0061\u006d\u0065":"B"}'),
        (
            m.decode_module_line,
            r'{"op":"http_response","request_id":"a","status_code":200,"headers":{},'
            r'"status\u005fcode":500}',
        ),
    ],
)
def test_repeated_field_spelled_with_escapes_is_rejected(decode, line):
    with pytest.raises(MessageValidationError, match="duplicate field `"):
        decode(line)


def test_repeated_map_key_or_unknown_key_is_accepted_like_serde():
    msg = m.decode_o2m(
        '{"op":"http_request","request_id":"r","method":"GET","uri":"/",'
        '"headers":{"a":"1","a":"2"},"body":null,"x":1,"x":2}'
    )
    assert msg.headers == {"a": "2"}
    # A field name that appears twice only inside a value is no duplicate.
    assert m.decode_o2m('{"op":"secret","name":"name","value":"\\"name\\""}').value == '"name"'


def test_escapes_elsewhere_are_no_duplicates():
    msg = m.decode_o2m(r'{"op":"secret","name":"\u006fp","value":"a\"op\":b"}')
    assert (msg.name, msg.value) == ("op", 'a"op":b')
    # A field name as a nested key (an unknown object) is not the message's own field.
    assert m.decode_o2m(r'{"op":"heartbeat","x":{"\u006fp":1,"op":2}}').op == "heartbeat"


# Text without escapes, so that lines take the decoder's cheap duplicate screens.
plain = st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'))
plain_headers = st.dictionaries(plain, plain, max_size=3)
plain_o2m = st.one_of(
    st.builds(
        m.HttpRequest, request_id=plain, method=plain, uri=plain, headers=plain_headers, body=body
    ),
    st.builds(m.Secret, name=plain, value=plain, rotation_id=st.none() | plain),
    st.builds(m.PortResponse, request_id=plain, success=st.booleans(), port=u16),
)
plain_m2o = st.one_of(
    st.builds(m.HttpResponse, request_id=plain, status_code=u16, headers=plain_headers, body=body),
    st.builds(m.PortRequest, request_id=plain, specific_port=st.none() | u16),
    st.builds(m.RotationAck, rotation_id=plain, status=plain, message=st.none() | plain),
)


@settings(max_examples=400)
@given(
    st.one_of(
        st.tuples(plain_o2m | o2m_messages, st.just(m.decode_o2m)),
        st.tuples(plain_m2o | m2o_messages, st.just(m.decode_m2o)),
    ),
    st.data(),
)
def test_duplicate_check_agrees_with_reading_every_key(case, data):
    """The cheap screens (string count, key regex) never pass a repeated field or fail a line
    without one, whatever the unknown keys, spacing and escapes around it."""
    msg, decode = case
    pairs = list(json.loads(m.encode(msg)).items())
    own = {"op", *type(msg).model_fields}
    unknown = st.tuples((plain | text).filter(lambda k: k not in own), plain | json_value)
    pairs += data.draw(st.lists(unknown, max_size=3))
    repeated = data.draw(st.none() | st.sampled_from(pairs))
    if repeated is not None:
        pairs.insert(data.draw(st.integers(0, len(pairs))), repeated)
    ascii_only = data.draw(st.booleans())
    colon = data.draw(st.sampled_from([":", " :", ": ", "\n:"]))
    members = ",".join(
        json.dumps(k, ensure_ascii=ascii_only)
        + colon
        + json.dumps(v, ensure_ascii=ascii_only, separators=(",", ":"))
        for k, v in pairs
    )
    line = "{" + members + "}"
    if repeated is not None and repeated[0] in own:
        with pytest.raises(MessageValidationError, match="duplicate field `"):
            decode(line)
    else:
        assert m.encode(decode(line)) == m.encode(msg)


def test_message_ids_are_unique_uuid4_strings_even_across_a_fork():
    import os

    ids = {m.new_message_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its ids must not repeat the parent's
        os.write(write, m.new_message_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.waitpid(pid, 0)
    assert child not in ids
    assert child[:24] != next(iter(ids))[:24]
