"""Faults from the hostile review of the security issue, each reproduced
against real processes on 127.0.0.1: what a hostile server or master can
make a worker do."""
import http.server
import json
import os
import socket
import threading
import time

import msgpack
import zmq

from apexlib import binary, free_port, read_csv, wait_for
from test_run import RunCase, write_scenario


class _Steering(http.server.BaseHTTPRequestHandler):
    """A hostile target: hands out file:// URLs and redirects to ftp://."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/next":
            body = b'{"u": "file:///etc/hostname"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        elif self.path == "/redirect":
            body = b""
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1:%d/x" %
                             self.server.ftp_port)
        else:
            body = b"{}"
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class ProtocolsTest(RunCase):
    def serve(self, handler):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return server

    def test_only_http_and_https_even_when_a_server_steers(self):
        # A listener where an ftp:// redirect would land: nothing may
        # connect to it.
        ftp = socket.socket()
        ftp.bind(("127.0.0.1", 0))
        ftp.listen(8)
        ftp.setblocking(False)
        self.addCleanup(ftp.close)
        server = self.serve(_Steering)
        server.ftp_port = ftp.getsockname()[1]
        scn = write_scenario(self.dir, {"users": [{
            "name": "U", "wait": {"constant": 0.05},
            "on_start": [{"path": "/next", "capture": {"u": "$.u"}}],
            "tasks": [{"request": {"path": "${u}", "name": "steered",
                                   "capture": {"leak": {"regex": "(.+)"}}}},
                      {"request": {"path": "/redirect"}}]}]})
        m, _ = self.master(scn, "-u", 2, "-r", 2, "-t", "2s", "--host",
                           "http://127.0.0.1:%d" % server.server_port,
                           "--processes", 1, "--csv",
                           os.path.join(self.dir, "run"))
        self.assertEqual(m.wait(40), 1, m.stderr())  # failures: exit 1
        stats = {r["Name"]: r for r in read_csv(
            os.path.join(self.dir, "run_stats.csv"))}
        for name in ("steered", "/redirect"):
            self.assertGreater(int(stats[name]["Request Count"]), 0)
            self.assertEqual(stats[name]["Failure Count"],
                             stats[name]["Request Count"], name)
        errors = {(r["Name"], r["Error"]) for r in read_csv(
            os.path.join(self.dir, "run_failures.csv"))}
        # A captured file:// URL is not absolute for us: joined to the host
        # it is no URL at all. A redirect to ftp:// is refused.
        self.assertEqual(errors, {
            ("steered", "CurlError(3, 'URL using bad/illegal format or "
                        "missing URL')"),
            ("/redirect", "CurlError(1, 'Unsupported protocol')")})
        with self.assertRaises(BlockingIOError):
            ftp.accept()


class FakeMasterTest(RunCase):
    """A hostile master: a ZeroMQ ROUTER speaking Locust's protocol."""

    def test_a_master_cannot_make_a_worker_read_local_files(self):
        ctx = zmq.Context()
        sock = ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        port = free_port()
        sock.bind("tcp://127.0.0.1:%d" % port)
        self.addCleanup(ctx.term)
        self.addCleanup(sock.close)
        w = self.start([binary("apex-worker"), "--master-port", port],
                       "worker")

        def recv():
            if not sock.poll(100):
                return None
            ident, payload = sock.recv_multipart()
            return ident, msgpack.unpackb(payload, raw=False,
                                          strict_map_key=False)
        ident, ready = wait_for(recv, 20, what="client_ready")
        self.assertEqual(ready[0], "client_ready")
        node = ready[2]

        def send(kind, data):
            sock.send_multipart([ident, msgpack.packb([kind, data, node])])
        send("ack", {"index": 0})
        scenario = {"users": [{"name": "U", "wait": {"constant": 0.05},
                               "tasks": [{"request": {
                                   "path": "/etc/hostname", "name": "local",
                                   "capture": {"x": {"regex": "(.+)"}}}}]}]}
        send("spawn", {"timestamp": time.time(),
                       "user_classes_count": {"U": 1},
                       "host": "file://", "stop_timeout": None,
                       "parsed_options": {
                           "host": "file://", "num_users": 1,
                           "spawn_rate": 1, "tags": None,
                           "exclude_tags": None,
                           "apex_scenario": json.dumps(scenario)}})
        seen = {"requests": 0, "failures": 0, "errors": []}

        def report():
            msg = recv()
            if msg and msg[1][0] == "stats":
                for e in msg[1][1]["stats"]:
                    if e["name"] == "local":
                        seen["requests"] += e["num_requests"]
                        seen["failures"] += e["num_failures"]
                for err in msg[1][1]["errors"].values():
                    seen["errors"].append(err["error"])
            return seen["requests"] >= 3 and seen
        wait_for(report, 20, what="3 requests reported")
        send("quit", None)
        self.assertEqual(w.wait(15), 0)
        self.assertEqual(seen["failures"], seen["requests"])
        self.assertEqual(set(seen["errors"]),
                         {"CurlError(1, 'Unsupported protocol')"})
