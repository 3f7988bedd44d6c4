#!/usr/bin/python3
"""An independent WebSocket server for the tests: Debian's python3-websockets
(plus two raw TCP servers for what that library will not do wrong).

Usage: ws_peer.py PORTFILE [CERT KEY]
Listens on 127.0.0.1 (ports chosen by the kernel) and writes one JSON line
to PORTFILE: {"ws": P, "wss": P or null, "silent": P, "bad": P}.

Routes on the ws/wss port:
  /echo       echoes every message
  /push       pushes {"type":"event","seq":N,"ts":<unix ms>} every 20 ms
  /close      closes with 4001 'go away' after the first message
  /kill       drops the TCP connection after the first message
  /forbidden  refuses the upgrade with 403
  /stats      (plain HTTP GET) counts as JSON
"silent" accepts connections and never answers; "bad" answers the
upgrade correctly, then sends a frame with reserved bits set (RFC 6455
says fail the connection).
"""
import asyncio
import base64
import hashlib
import http
import json
import socket
import ssl
import sys
import threading
import time

import websockets

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
COUNTS = {"connections": 0, "echoed": 0, "pushed": 0, "closed_4001": 0,
          "killed": 0, "received": 0}


async def handler(ws, path):
    COUNTS["connections"] += 1
    if path.startswith("/echo"):
        async for message in ws:
            COUNTS["received"] += 1
            await ws.send(message)
            COUNTS["echoed"] += 1
    elif path.startswith("/push"):
        seq = 0
        while True:
            seq += 1
            await ws.send(json.dumps({"type": "event", "seq": seq,
                                      "ts": time.time() * 1000}))
            COUNTS["pushed"] += 1
            await asyncio.sleep(0.02)
    elif path.startswith("/close"):
        await ws.recv()
        COUNTS["received"] += 1
        COUNTS["closed_4001"] += 1
        await ws.close(4001, "go away")
    elif path.startswith("/kill"):
        await ws.recv()
        COUNTS["received"] += 1
        COUNTS["killed"] += 1
        ws.transport.abort()


async def process_request(path, headers):
    if path == "/stats":
        return (http.HTTPStatus.OK, [("Content-Type", "application/json")],
                json.dumps(COUNTS).encode())
    if path == "/forbidden":
        return (http.HTTPStatus.FORBIDDEN, [], b"no\n")
    return None


def silent_server():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    held = []

    def run():
        while True:
            conn, _ = s.accept()
            held.append(conn)  # never answered, never closed
    threading.Thread(target=run, daemon=True).start()
    return s.getsockname()[1]


def bad_server():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)

    def serve(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        key = [line.split(b":", 1)[1].strip() for line in data.split(b"\r\n")
               if line.lower().startswith(b"sec-websocket-key:")][0]
        accept = base64.b64encode(hashlib.sha1(key + GUID.encode()).digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        conn.sendall(b"\xf1\x03abc")  # FIN + RSV1-3 set: must fail
        time.sleep(2)
        conn.close()

    def run():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    threading.Thread(target=run, daemon=True).start()
    return s.getsockname()[1]


async def main():
    ports = {"silent": silent_server(), "bad": bad_server(), "wss": None}
    plain = await websockets.serve(handler, "127.0.0.1", 0,
                                   process_request=process_request,
                                   ping_interval=None)
    ports["ws"] = plain.sockets[0].getsockname()[1]
    if len(sys.argv) > 3:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        secure = await websockets.serve(handler, "127.0.0.1", 0, ssl=ctx,
                                        process_request=process_request,
                                        ping_interval=None)
        ports["wss"] = secure.sockets[0].getsockname()[1]
    with open(sys.argv[1] + ".tmp", "w") as f:
        json.dump(ports, f)
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
