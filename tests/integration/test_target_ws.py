"""Integration tests for apex-target's WebSocket routes.

Each test starts the real binary (from $APEX_BUILD, default build/) on
127.0.0.1 and talks to it with Debian's python3-websockets, an independent
client, or with raw bytes on a plain socket where a client must misbehave.
Counts, bytes, codes and ordering are asserted, never durations; waits are
polls with deadlines.
"""
import asyncio
import base64
import hashlib
import http.client
import json
import os
import resource
import signal
import socket
import struct
import time
import unittest

import websockets

import apexlib
from test_target import stop_cleanly

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE = 1024 * 1024
DEADLINE = 20  # seconds any one wait may take, even under sanitizers


def run(coro):
    """Run a coroutine to its end with an overall deadline."""
    return asyncio.run(asyncio.wait_for(coro, DEADLINE))


def ws_url(base, path):
    return "ws" + base[len("http"):] + path


class RawSocket:
    """A WebSocket client on a plain socket that can send any bytes."""

    def __init__(self, base, path="/ws/echo"):
        host, port = base[len("http://"):].split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(
            b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key +
            b"\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            assert chunk, "connection closed during the handshake"
            head += chunk
        head, self.rest = head.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        assert lines[0].startswith("HTTP/1.1 101 "), lines[0]
        headers = {k.lower(): v.strip() for k, v in
                   (line.split(":", 1) for line in lines[1:])}
        want = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        assert headers["sec-websocket-accept"] == want, headers

    def send(self, data):
        self.sock.sendall(data)

    def _read(self, n):
        while len(self.rest) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed with %d of %d bytes" %
                               (len(self.rest), n))
            self.rest += chunk
        data, self.rest = self.rest[:n], self.rest[n:]
        return data

    def frame(self):
        """The next frame from the server: (opcode, payload)."""
        b0, b1 = self._read(2)
        assert b1 & 0x80 == 0, "the server masked a frame"
        length = b1 & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read(8))[0]
        return b0 & 0x0F, self._read(length)

    def close_code(self):
        """Read frames up to the server's close; returns its code."""
        while True:
            opcode, payload = self.frame()
            if opcode == 0x8:
                return struct.unpack("!H", payload[:2])[0]

    def at_eof(self):
        """True once the server has closed the TCP connection."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def masked(opcode, payload, fin=True, length=None):
    """A client frame: masked, with payload (length may lie)."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in
                                enumerate(payload))


class WsCase(unittest.TestCase):
    """Starts one apex-target per test, stopped cleanly at its end."""

    def start(self, *args):
        folder = apexlib.out_dir("target-ws-" + self._testMethodName)
        proc, base = apexlib.start_target(folder, *args)
        self.addCleanup(stop_cleanly, proc)
        self.proc = proc
        return base

    def ws_stats(self, base):
        return apexlib.target_stats(base)["websocket"]

    def wait_stats(self, base, what, **want):
        """Poll /stats until every websocket counter in want has its value;
        returns the counters."""
        last = {}

        def check():
            last.update(self.ws_stats(base))
            return all(last[k] == v for k, v in want.items())
        try:
            apexlib.wait_for(check, DEADLINE, what=what)
        except AssertionError:
            self.fail("%s: want %s, have %s" % (what, want, last))
        return last


class EchoTest(WsCase):

    def test_echo_text_binary_large_and_fragmented(self):
        base = self.start()

        async def go():
            async with websockets.connect(ws_url(base, "/ws/echo")) as ws:
                await ws.send("hello")
                self.assertEqual(await ws.recv(), "hello")
                await ws.send(b"\x00\x01\xff")
                self.assertEqual(await ws.recv(), b"\x00\x01\xff")
                big = os.urandom(200 * 1000)
                await ws.send(big)
                self.assertEqual(await ws.recv(), big)
                await ws.send(["fra", "gmen", "ted \u00e9"])  # 3 frames
                self.assertEqual(await ws.recv(), "fragmented \u00e9")
                await ws.send([b"\x01", b"\x02"])
                self.assertEqual(await ws.recv(), b"\x01\x02")
        run(go())
        nbytes = 5 + 3 + 200 * 1000 + len("fragmented \u00e9".encode()) + 2
        self.wait_stats(base, "the echo counts", opened=1, open=0,
                        closed_by_client=1, closed_by_server=0, aborted=0,
                        protocol_errors=0,
                        messages_received={"echo": 5, "events": 0,
                                           "chat": 0},
                        messages_sent={"echo": 5, "events": 0, "chat": 0},
                        bytes_received=nbytes, bytes_sent=nbytes)

    def test_ping_pong_and_close_handshake(self):
        base = self.start()

        async def go():
            async with websockets.connect(ws_url(base, "/ws/echo")) as ws:
                for payload in (b"", b"are you there", b"x" * 125):
                    pong = await ws.ping(payload)
                    await asyncio.wait_for(pong, DEADLINE)
                await ws.close(code=4321, reason="done here")
                # The server echoes the code and the reason (RFC 6455 5.5.1).
                self.assertEqual(ws.close_code, 4321)
                self.assertEqual(ws.close_reason, "done here")
        run(go())
        stats = self.wait_stats(base, "the close", closed_by_client=1,
                                open=0)
        self.assertEqual(stats["messages_received"]["echo"], 0)  # not pings

    def test_thousand_connections_echo_one_message_each(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 1100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        base = self.start()
        n = 1000

        async def one(i):
            async with websockets.connect(ws_url(base, "/ws/echo"),
                                          open_timeout=DEADLINE) as ws:
                await ws.send("client %d" % i)
                return await ws.recv()

        async def go():
            # Opened all at once, each over its own TCP connection.
            return await asyncio.gather(*(one(i) for i in range(n)))
        replies = run(go())
        self.assertEqual(replies, ["client %d" % i for i in range(n)])
        sent = sum(len("client %d" % i) for i in range(n))
        self.wait_stats(base, "1000 echoes", opened=n, open=0,
                        closed_by_client=n, aborted=0,
                        messages_received={"echo": n, "events": 0,
                                           "chat": 0},
                        messages_sent={"echo": n, "events": 0, "chat": 0},
                        bytes_received=sent, bytes_sent=sent)


class EventsTest(WsCase):

    def test_events_at_rate_50(self):
        base = self.start()
        rate = 50

        async def go():
            events = []
            async with websockets.connect(
                    ws_url(base, "/ws/events?rate=%d" % rate)) as ws:
                start = time.monotonic()
                while time.monotonic() - start < 1.0:
                    try:
                        text = await asyncio.wait_for(ws.recv(), 0.2)
                    except asyncio.TimeoutError:
                        continue
                    events.append((json.loads(text), time.time()))
                elapsed = time.monotonic() - start
            return events, elapsed
        events, elapsed = run(go())
        n = len(events)
        # The server never runs ahead of its rate (the first event is sent
        # at once); a loaded machine may send fewer.
        self.assertLessEqual(n, rate * elapsed + 2, n)
        self.assertGreaterEqual(n, rate // 5, n)
        self.assertEqual([e["seq"] for e, _ in events], list(range(1, n + 1)))
        for event, _ in events:
            self.assertEqual(set(event), {"type", "seq", "ts"})
            self.assertEqual(event["type"], "event")
            self.assertIsInstance(event["ts"], float)
        stamps = [e["ts"] for e, _ in events]
        self.assertEqual(stamps, sorted(stamps))
        for event, seen in events:  # the server's clock is the client's
            self.assertLess(abs(event["ts"] / 1000 - seen), 5)
        stats = self.wait_stats(base, "the events close", open=0)
        self.assertGreaterEqual(stats["messages_sent"]["events"], n)

    def test_default_rate_sends_the_first_event_at_once(self):
        base = self.start()

        async def go():
            async with websockets.connect(ws_url(base, "/ws/events")) as ws:
                await ws.send("ignored")  # counted, not answered
                return json.loads(await ws.recv())
        self.assertEqual(run(go())["seq"], 1)
        self.wait_stats(base, "the events counts", open=0,
                        messages_received={"echo": 0, "events": 1,
                                           "chat": 0})

    def test_bad_rate_is_400_before_the_upgrade(self):
        base = self.start()
        for query in ("rate=0", "rate=1001", "rate=abc", "rate=", "rate=-1",
                      "rate=99999999999999999999"):
            async def go():
                await websockets.connect(ws_url(base, "/ws/events?" + query))
            with self.assertRaises(websockets.InvalidStatusCode) as cm:
                run(go())
            self.assertEqual(cm.exception.status_code, 400, query)
        status, value = apexlib.http_json("GET", base + "/ws/events?rate=0")
        self.assertEqual(status, 400)
        self.assertEqual(value, {"error": "rate: expected an integer 1..1000"})
        self.wait_stats(base, "rejections", rejected=7, opened=0)


class ChatTest(WsCase):

    def test_chat_broadcast_among_three_clients(self):
        # Two WebSocket threads, so members sit on both and messages cross.
        base = self.start("--ws-threads", "2")

        async def go():
            clients = [await websockets.connect(ws_url(base, "/ws/chat"))
                       for _ in range(3)]
            received = [[] for _ in clients]

            async def until(i, text):
                while True:
                    msg = await clients[i].recv()
                    received[i].append(msg)
                    if msg == text:
                        return
            # A member hears itself once it has joined: after these, all
            # three are members.
            for i, ws in enumerate(clients):
                await ws.send("join %d" % i)
                await until(i, "join %d" % i)
            for i, ws in enumerate(clients):
                await ws.send("message %d" % i)
                await ws.send(b"binary %d" % i)
            for i in range(3):
                await until(i, b"binary 2")
                for j in range(3):  # and every other sender's, in order
                    if b"binary %d" % j not in received[i]:
                        await until(i, b"binary %d" % j)
            for ws in clients:
                await ws.close()
            return received
        received = run(go())
        for i, got in enumerate(received):
            body = [m for m in got if not (isinstance(m, str) and
                                           m.startswith("join"))]
            self.assertEqual(len(body), 6, got)
            for j in range(3):
                self.assertLess(body.index("message %d" % j),
                                body.index(b"binary %d" % j))
        deliveries = sum(len(got) for got in received)
        self.wait_stats(base, "the chat counts", opened=3, open=0,
                        closed_by_client=3, dropped=0,
                        messages_received={"echo": 0, "events": 0,
                                           "chat": 9},
                        messages_sent={"echo": 0, "events": 0,
                                       "chat": deliveries})


class HandshakeTest(WsCase):

    def request(self, base, headers, method="GET", path="/ws/echo"):
        host, port = base[len("http://"):].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, dict(resp.getheaders()), body

    def test_bad_upgrades_get_400_or_426_with_json(self):
        base = self.start()
        good = {"Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}

        def without(name, **changes):
            headers = {k: v for k, v in good.items() if k != name}
            headers.update(changes)
            return headers
        cases = [
            (without("Sec-WebSocket-Key"), 400, "Sec-WebSocket-Key"),
            (without("", **{"Sec-WebSocket-Key": "c2hvcnQ="}), 400,
             "Sec-WebSocket-Key"),
            (without("Sec-WebSocket-Version",
                     **{"Sec-WebSocket-Version": "8"}), 426,
             "Sec-WebSocket-Version"),
            (without("Sec-WebSocket-Version"), 426, "Sec-WebSocket-Version"),
            (without("Upgrade"), 426, "Upgrade"),
            (without("Upgrade", Upgrade="h2c"), 426, "Upgrade"),
            (without("Connection", Connection="keep-alive"), 400,
             "Connection"),
        ]
        for headers, want, word in cases:
            status, got, body = self.request(base, headers)
            self.assertEqual(status, want, headers)
            value = json.loads(body)
            self.assertEqual(list(value), ["error"])
            self.assertIn(word, value["error"])
            self.assertEqual(got["Content-Type"], "application/json")
            if want == 426:
                self.assertEqual(got["Sec-WebSocket-Version"], "13")
                self.assertEqual(got["Upgrade"], "websocket")
        status, got, _ = self.request(base, good, method="POST")
        self.assertEqual((status, got["Allow"]), (405, "GET"))
        status, _, _ = self.request(base, good, path="/ws/nope")
        self.assertEqual(status, 404)
        # The right key and accept, as RFC 6455 section 1.3 computes them.
        status, got, _ = self.request(base, dict(good, Connection="Upgrade"))
        self.assertEqual(status, 101)
        self.assertEqual(got["Sec-WebSocket-Accept"],
                         "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        stats = self.wait_stats(base, "the handshakes", rejected=len(cases),
                                opened=1, open=0)
        self.assertEqual(apexlib.target_stats(base)["requests"]["other"], 2)
        self.assertEqual(stats["aborted"], 1)  # http.client just hung up


class MalformedTest(WsCase):

    def test_malformed_frames_are_closed_and_others_served(self):
        base = self.start()
        bad = [
            ("unmasked", b"\x81\x05hello", 1002),
            ("bad opcode", masked(0x3, b"x"), 1002),
            ("continuation first", masked(0x0, b"x"), 1002),
            ("reserved bit", masked(0x41, b"x"), 1002),
            ("bad UTF-8", masked(0x1, b"\xc3\x28"), 1007),
            ("control over 125", masked(0x9, b"p" * 126), 1002),
            ("fragmented control", masked(0x9, b"p", fin=False), 1002),
            # wslay looks at a frame once some of its payload is in.
            ("too big", masked(0x2, b"x" * 10, length=MAX_MESSAGE + 1),
             1009),
            ("bad close code", masked(0x8, struct.pack("!H", 1005)), 1002),
        ]
        keep = RawSocket(base)  # a bystander that must keep working
        for what, data, code in bad:
            raw = RawSocket(base)
            raw.send(masked(0x1, b"fine"))  # a good message first
            self.assertEqual(raw.frame(), (0x1, b"fine"), what)
            # The close of a failed connection goes ahead of any answer
            # still queued (wslay sends control frames first), so the bad
            # frame comes alone.
            raw.send(data)
            self.assertEqual(raw.close_code(), code, what)
            apexlib.wait_for(raw.at_eof, DEADLINE, what=what + ": EOF")
            raw.close()
            keep.send(masked(0x2, what.encode()))
            self.assertEqual(keep.frame(), (0x2, what.encode()))
        keep.send(masked(0x8, struct.pack("!H", 1000)))
        self.assertEqual(keep.close_code(), 1000)
        keep.close()
        n = len(bad)
        self.wait_stats(base, "the protocol errors", opened=n + 1, open=0,
                        protocol_errors=n, closed_by_server=n,
                        closed_by_client=1,
                        messages_received={"echo": 2 * n, "events": 0,
                                           "chat": 0})

    def test_bad_header_split_over_reads_still_gets_1002(self):
        base = self.start()
        raw = RawSocket(base)
        frame = masked(0x9, b"p" * 126)
        for i in range(len(frame[:4])):  # the header a byte at a time
            raw.send(frame[i:i + 1])
        self.assertEqual(raw.close_code(), 1002)
        raw.close()
        self.wait_stats(base, "the protocol error", protocol_errors=1,
                        open=0)

    def test_frames_in_the_handshake_packet_are_read(self):
        # Bytes after the request in the same packet reach MHD first; it
        # passes them on with the upgrade.
        base = self.start()
        host, port = base[len("http://"):].split(":")
        sock = socket.create_connection((host, int(port)), timeout=10)
        sock.sendall(b"GET /ws/echo HTTP/1.1\r\nHost: x\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Version: 13\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" +
                     masked(0x1, b"early") + masked(0x1, b"bird"))
        data = b""
        want = b"\x81\x05early\x81\x04bird"
        while not data.endswith(want):
            chunk = sock.recv(4096)
            self.assertTrue(chunk, data)
            data += chunk
        self.assertIn(b" 101 ", data.split(b"\r\n")[0])
        sock.close()


class LifecycleTest(WsCase):

    def test_stats_reset_keeps_open_connections(self):
        base = self.start()

        async def go():
            async with websockets.connect(ws_url(base, "/ws/echo")) as ws:
                await ws.send("a")
                await ws.recv()
                self.wait_stats(base, "one open", open=1, opened=1)
                status, _ = apexlib.http_json("POST", base + "/stats/reset")
                self.assertEqual(status, 200)
                stats = self.ws_stats(base)
                self.assertEqual((stats["open"], stats["opened"]), (1, 0))
                self.assertEqual(stats["messages_sent"]["echo"], 0)
                await ws.send("b")
                await ws.recv()
        run(go())
        self.wait_stats(base, "after the reset", open=0, opened=0,
                        closed_by_client=1, bytes_received=1, bytes_sent=1)

    def test_shutdown_closes_every_websocket_with_1001(self):
        base = self.start()
        paths = ["/ws/echo", "/ws/events?rate=10", "/ws/chat"] * 3

        async def go():
            clients = [await websockets.connect(ws_url(base, p))
                       for p in paths]
            for ws in clients[::3]:
                await ws.send("still here")
                self.assertEqual(await ws.recv(), "still here")
            self.wait_stats(base, "all open", open=len(paths))
            self.proc.signal(signal.SIGTERM)
            codes = []
            for ws in clients:
                await asyncio.wait_for(ws.wait_closed(), DEADLINE)
                codes.append(ws.close_code)
            return codes
        self.assertEqual(run(go()), [1001] * len(paths))
        self.assertEqual(self.proc.wait(DEADLINE), 0)


if __name__ == "__main__":
    unittest.main()
