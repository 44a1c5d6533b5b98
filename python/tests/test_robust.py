"""Bad input from the peer: precise errors, the session closed, nothing else."""

import asyncio
import struct

import pytest
from hypothesis import given, settings, strategies as st

from cohesix.ack import parse_ack
from cohesix.aio import AsyncRestBackend, AsyncTcpBackend
from cohesix.backends.rest import RestBackend, reply_from_json
from cohesix.backends.tcp import TcpBackend
from cohesix.errors import GatewayError, ProtocolError, TransportError

from fakes import FakeConsole, FakeGateway, frame


def test_silent_console_times_out_as_transport_error():
    c = FakeConsole(lambda line: b"")
    try:
        b = TcpBackend(c.addr, timeout=0.3)
        with pytest.raises(TransportError, match="recv"):
            b.ls("/")
        assert not b.connected
    finally:
        c.close()


def test_async_oversized_reply_closes_that_session():
    c = FakeConsole(lambda line: struct.pack("<I", 9000) if line == "cat /big" else frame("PONG") + frame("OK PING reply=pong"))

    async def main() -> None:
        a = await AsyncTcpBackend.open(c.addr)
        b = await AsyncTcpBackend.open(c.addr)
        with pytest.raises(ProtocolError, match="exceeds frame_max_bytes 8192"):
            await a.cat("/big")
        with pytest.raises(TransportError):
            await a.ls("/")
        assert (await b.request("ping")).ack == "OK PING reply=pong"
        await b.close()

    try:
        asyncio.run(main())
    finally:
        c.close()


def test_gateway_overload_carries_retry_after():
    g = FakeGateway()
    try:
        with pytest.raises(GatewayError) as e:
            RestBackend(g.url).ls("/busy")
        assert (e.value.status, e.value.code, e.value.retry_after) == (429, "overloaded", "1")

        async def main() -> None:
            with pytest.raises(GatewayError) as e2:
                await AsyncRestBackend(g.url).ls("/busy")
            assert e2.value.retry_after == "1"
        asyncio.run(main())
    finally:
        g.close()


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
                           max_leaves=10)


@settings(max_examples=100, deadline=None)
@given(st.one_of(json_values, st.fixed_dictionaries({
    "status": st.sampled_from(["OK", "ERR", "x"]), "verb": st.sampled_from(["LS", "CAT", ""]),
    "ack": st.text(max_size=30), "path": st.text(max_size=10),
    "lines": st.lists(st.one_of(st.text(max_size=10), st.integers()), max_size=3)})))
def test_fuzz_gateway_json_only_protocol_errors(doc):
    try:
        r = reply_from_json(doc)
    except ProtocolError:
        return
    assert r.status == doc["status"] and r.ack.startswith(doc["status"] + " " + doc["verb"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_ack_parser_total(line):
    a = parse_ack(line)
    if a is not None:
        assert line.strip().startswith(a.status + " " + a.verb)
        a.fields()
