import struct

import pytest
from hypothesis import given, settings, strategies as st

from cohesix.errors import ProtocolError
from cohesix.frame import FrameDecoder, encode
from cohesix.limits import load


def frame(total: int, body: bytes) -> bytes:
    return struct.pack("<I", total) + body


def test_roundtrip_and_split_delivery():
    data = encode("OK LS path=/ entries=1") + encode("") + encode("END")
    dec = FrameDecoder()
    out = []
    for b in data:  # one byte at a time
        out += dec.feed(bytes([b]))
    assert out == ["OK LS path=/ entries=1", "", "END"]
    assert dec.pending == 0


@pytest.mark.parametrize("total,msg", [
    (3, "under the 4-byte header"),
    (0, "under the 4-byte header"),
    (load().frame_max_bytes + 1, "exceeds frame_max_bytes"),
    (load().line_max_bytes + 5, "exceeds line_max_bytes"),
])
def test_bad_lengths_raise_precise_errors(total, msg):
    dec = FrameDecoder()
    with pytest.raises(ProtocolError, match=msg):
        dec.feed(frame(total, b""))
    with pytest.raises(ProtocolError):  # poisoned: the session must close
        dec.feed(encode("OK PING"))


def test_line_at_the_limit_is_accepted():
    body = b"x" * load().line_max_bytes
    assert FrameDecoder().feed(frame(len(body) + 4, body)) == ["x" * load().line_max_bytes]


def test_non_utf8_payload_is_kept_byte_exact():
    from cohesix.frame import payload_bytes
    (line,) = FrameDecoder().feed(frame(6, b"\xff\xfe"))
    assert payload_bytes(line) == b"\xff\xfe"
    assert encode(line) == frame(6, b"\xff\xfe")


def test_encode_refuses_newlines():
    with pytest.raises(ProtocolError):
        encode("a\nb")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=64))
def test_fuzz_decoder_never_crashes(data, chunk):
    """Any byte stream either decodes to lines that re-encode to a prefix of
    the input, or raises ProtocolError; nothing else escapes."""
    dec = FrameDecoder()
    got = []
    try:
        for i in range(0, len(data), chunk):
            got += dec.feed(data[i:i + chunk])
    except ProtocolError:
        return
    raw = [l.encode("utf-8", "surrogateescape") for l in got]
    again = b"".join(struct.pack("<I", len(b) + 4) + b for b in raw)
    assert data.startswith(again)
    assert len(data) - len(again) == dec.pending


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=60).filter(lambda s: "\n" not in s and "\r" not in s), max_size=20))
def test_fuzz_roundtrip(lines):
    data = b"".join(encode(l) for l in lines)
    assert FrameDecoder().feed(data) == lines
