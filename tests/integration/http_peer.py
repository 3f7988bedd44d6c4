"""A small HTTP/1.1 server for the engine tests (test_http_engines.py),
written on raw sockets so it can misbehave on purpose: it answers by path,
counts connections and requests, and notices a request that arrives
before the previous response went out (pipelining).

Paths:
  /cl/N          N bytes with Content-Length
  /chunked/N     N bytes in chunks of up to 4096
  /eof/N         N bytes, no length: the body ends when the server closes
  /bytewise      a response written one byte at a time
  /bigheader     a 100 KB header (X-Big) then a short body
  /mid           Content-Length 100, 10 bytes, then the connection closes
  /interim       "100 Continue" then 200
  /nocontent     204;  /notmodified: 304 (with a Content-Length: no body)
  /redirect      302 to /cl/5
  /close         200 with "Connection: close"
  /status/N      status N with body "status N"
A HEAD request gets the headers of its GET without the body.
"""
import socket
import threading

BIG_HEADER = 100 * 1000  # libcurl takes header lines up to 100 KiB
CHUNK = 4096
MID_LENGTH = 100


class Peer:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self.pipelined = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self):
        self.stopping = True
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
        except OSError:
            pass
        self.sock.close()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                while len(buf) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                buf = buf[length:]
                with self.lock:
                    self.requests += 1
                    if buf:
                        self.pipelined += 1
                if not self._answer(conn, method, path):
                    return
        except OSError:
            return
        finally:
            conn.close()

    def _answer(self, conn, method, path):
        """Send the response; False when the connection must close."""
        parts = path.split("?")[0].strip("/").split("/")
        kind = parts[0]
        n = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        head = method == "HEAD"
        if kind == "cl":
            body = b"x" * n
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n
                         + (b"" if head else body))
        elif kind == "chunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                         b"\r\n\r\n")
            if not head:
                left = n
                while left:
                    k = min(left, CHUNK)
                    conn.sendall(b"%x\r\n%s\r\n" % (k, b"y" * k))
                    left -= k
                conn.sendall(b"0\r\n\r\n")
        elif kind == "eof":
            conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n" + b"z" * n)
            return False
        elif kind == "bytewise":
            data = (b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n"
                    b"X-Slow: yes\r\n\r\nhello world")
            for i in range(len(data)):
                conn.sendall(data[i:i + 1])
        elif kind == "bigheader":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * BIG_HEADER +
                         b"\r\nContent-Length: 2\r\n\r\nok")
        elif kind == "mid":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
                         % MID_LENGTH + b"m" * 10)
            return False
        elif kind == "interim":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n"
                         b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        elif kind == "nocontent":
            conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
        elif kind == "notmodified":
            conn.sendall(b"HTTP/1.1 304 Not Modified\r\n"
                         b"Content-Length: 50\r\n\r\n")
        elif kind == "redirect":
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /cl/5\r\n"
                         b"Content-Length: 0\r\n\r\n")
        elif kind == "close":
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                         b"Content-Length: 3\r\n\r\nbye")
            return False
        elif kind == "status":
            body = b"status %d" % n
            conn.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n"
                         % (n, len(body)) + (b"" if head else body))
        else:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0"
                         b"\r\n\r\n")
        return True
