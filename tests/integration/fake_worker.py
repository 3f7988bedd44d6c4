"""A hostile worker for the integration tests: a ZeroMQ DEALER speaking
Locust's protocol that sends whatever a test gives it.

One thread owns the socket (pyzmq sockets are not thread-safe): it sends
the frames a test queues, keeps what the master sends, heartbeats once a
second while asked to, and answers the master's quit as a worker does.
"""
import queue
import threading
import time

import msgpack
import zmq


def entry(name, requests, ms=1.0, method="GET", failures=0):
    """A StatsEntryDict of `requests` requests of `ms` each, now."""
    now = time.time()
    return {"name": name, "method": method, "last_request_timestamp": now,
            "start_time": now, "num_requests": requests,
            "num_none_requests": 0, "num_failures": failures,
            "total_response_time": ms, "max_response_time": ms,
            "min_response_time": ms, "total_content_length": 0,
            "response_times": {ms: min(requests, 1)},
            "num_reqs_per_sec": {int(now): requests},
            "num_fail_per_sec": {int(now): failures} if failures else {}}


def report(entries, errors=None, users=0):
    """A stats message's data: entries, their sum as the total."""
    total = entry("Aggregated", 0, method="")
    total["num_requests"] = min(sum(e["num_requests"] for e in entries),
                                2 ** 63 - 1)
    total["response_times"] = {}
    total["num_reqs_per_sec"] = {}
    return {"stats": entries, "stats_total": total, "errors": errors or {},
            "user_classes_count": {}, "user_count": users}


class FakeWorker:
    """A DEALER with identity `node` (str or bytes), connected to
    127.0.0.1:port, from source address `source` when given."""

    def __init__(self, port, node, source=None, heartbeat=True,
                 ctx=None, rcvbuf=None):
        self.node = node if isinstance(node, bytes) else node.encode()
        self.received = []
        self.heartbeat = heartbeat
        self.deaf = False  # True: read nothing more, heartbeat at full
        self.flooded = 0   # speed (its queue at the master fills up)
        self.state = "ready"
        self._out = queue.Queue()
        self._stop = threading.Event()
        self._ctx = ctx or zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.IDENTITY, self.node)
        self._sock.setsockopt(zmq.LINGER, 0)
        if rcvbuf:
            self._sock.setsockopt(zmq.RCVBUF, rcvbuf)
        where = "tcp://%s127.0.0.1:%d" % (
            source + ":0;" if source else "", port)
        self._sock.connect(where)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def name(self):
        return self.node.decode(errors="replace")

    def send(self, kind, data, node_id=None):
        """Queue [kind, data, node_id] (default: the identity as text)."""
        self._out.put(msgpack.packb(
            [kind, data, node_id if node_id is not None else self.name]))

    def register(self):
        self.send("client_ready", -1)

    def got(self, kind):
        """The messages of this type the master sent so far."""
        return [m for m in list(self.received) if m[0] == kind]

    def close(self):
        self._stop.set()
        self._thread.join(10)
        self._sock.close()

    def _send(self, frame):
        """Never blocks (a master gone must not hang the thread)."""
        try:
            self._sock.send(frame, zmq.NOBLOCK)
            return True
        except zmq.Again:
            return False

    def _run(self):
        next_beat = 0
        while not self._stop.is_set():
            while True:
                try:
                    frame = self._out.get_nowait()
                except queue.Empty:
                    break
                while not self._send(frame) and not self._stop.is_set():
                    time.sleep(0.01)  # the queue to the master is full
            if self.heartbeat and time.monotonic() >= next_beat:
                next_beat = time.monotonic() + 1
                self._send(msgpack.packb(
                    ["heartbeat", {"state": self.state,
                                   "current_cpu_usage": 1.0}, self.name]))
            if self.deaf:
                beat = msgpack.packb(["heartbeat", {
                    "state": self.state, "current_cpu_usage": 1.0},
                    self.name])
                for _ in range(1000):
                    self.flooded += self._send(beat)
                time.sleep(0.01)
                continue
            if not self._sock.poll(50):
                continue
            msg = msgpack.unpackb(self._sock.recv(), raw=False,
                                  strict_map_key=False)
            self.received.append(msg)
            if msg[0] == "spawn":
                self.state = "running"
            elif msg[0] == "quit":
                self._send(msgpack.packb(["quit", None, self.name]))
                self.heartbeat = False
