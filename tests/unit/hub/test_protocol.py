"""The WebSocket protocol without a server: command parsing, the envelope's bytes, frames on the wire."""

import struct

import orjson
import pytest

from services.delivery import envelope
from services.hub.protocol import (
    Command,
    ConnectionType,
    ErrorCode,
    Outgoing,
    ProtocolError,
    default_channels,
    join_envelope,
    parse_command,
    split_envelope,
    text_frame,
)


@pytest.mark.parametrize(("raw", "code"), [
    ("not json", ErrorCode.INVALID_JSON),
    ("[1, 2]", ErrorCode.INVALID_MESSAGE),
    (b'{"type": "ping"}', ErrorCode.INVALID_MESSAGE),
    ("{}", ErrorCode.MISSING_FIELD),
    ('{"type": "shout"}', ErrorCode.UNKNOWN_TYPE),
    ('{"type": "subscribe"}', ErrorCode.MISSING_FIELD),
    ('{"type": "unsubscribe"}', ErrorCode.MISSING_FIELD),
    ('{"type": "subscribe", "channel": 7}', ErrorCode.INVALID_FIELD),
    ('{"type": "subscribe", "channel": "has space"}', ErrorCode.INVALID_FIELD),
    ('{"type": "subscribe", "channel": "resources", "since": "3"}', ErrorCode.INVALID_FIELD),
    ('{"type": "subscribe", "channel": "resources", "since": -1}', ErrorCode.INVALID_FIELD),
    ('{"type": "subscribe", "channel": "resources", "since": true}', ErrorCode.INVALID_FIELD),
    ('{"type": "subscribe", "channel": "resources", "epoch": 5}', ErrorCode.INVALID_FIELD),
])
def test_malformed_frames_are_refused_with_a_code(raw: str | bytes, code: ErrorCode) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_command(raw, 1024)
    assert refused.value.code == code
    assert refused.value.message


def test_a_frame_over_the_limit_is_refused_by_its_utf8_size() -> None:
    frame = '{"type":"ping","data":"' + "é" * 100 + '"}'
    size = len(frame.encode())
    assert size == len(frame) + 100  # two bytes per é
    assert parse_command(frame, size).type == "ping"
    with pytest.raises(ProtocolError) as refused:
        parse_command(frame, size - 1)
    assert refused.value.code == ErrorCode.MESSAGE_TOO_LARGE


def test_commands_carry_their_fields() -> None:
    assert parse_command('{"type":"subscribe","channel":"user:alice","since":12,"epoch":"e1"}', 1024) == Command(
        "subscribe", "user:alice", 12, "e1")
    assert parse_command('{"type":"unsubscribe","channel":"mesh"}', 1024) == Command("unsubscribe", "mesh")
    assert parse_command('{"type":"ping","data":{"n":1}}', 1024) == Command("ping", data={"n": 1})
    assert parse_command('{"type":"get_status"}', 1024) == Command("get_status")


def test_the_split_envelope_is_the_envelope_as_json_once_seq_is_known() -> None:
    message = envelope("resources", "event", {"amount": 800, "who": "ålice", "nested": [1, {"a": None}]})
    head, tail = split_envelope(message)
    for seq in (None, 1, 123456789):
        assert orjson.loads(join_envelope(head, seq, tail)) == {**message, "seq": seq}
    assert list(orjson.loads(join_envelope(head, 5, tail))) == ["id", "type", "channel", "seq", "data", "timestamp"]


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70000])
def test_text_frames_follow_rfc6455_length_encoding(size: int) -> None:
    payload = b"x" * size
    frame = text_frame(payload)
    assert frame[0] == 0x81  # FIN + text
    length, offset = frame[1], 2
    assert length & 0x80 == 0  # servers do not mask
    if length == 126:
        (length,), offset = struct.unpack("!H", frame[2:4]), 4
    elif length == 127:
        (length,), offset = struct.unpack("!Q", frame[2:10]), 10
    assert length == size
    assert frame[offset:] == payload


def test_an_outgoing_message_is_framed_and_decoded_once() -> None:
    out = Outgoing("{\"t\":\"ü\"}".encode(), seq=3)
    assert out.frame is out.frame
    assert out.text is out.text
    assert out.text == '{"t":"ü"}'


def test_every_connection_gets_its_own_role_and_broadcast_channels() -> None:
    assert default_channels(ConnectionType.DASHBOARD, "alice", "user") == (
        "dashboard", "resources", "system", "user:alice", "role:user", "broadcast")
    assert default_channels(ConnectionType.SYSTEM, "ingest", "system") == ("user:ingest", "role:system", "broadcast")
