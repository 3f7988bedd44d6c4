"""The two HTTP engines (worker/http1.c and worker/http_curl.c) against
real servers on 127.0.0.1: a raw-socket server that misbehaves on purpose
(http_peer.py) and nginx (nginx_peer.py). The same scenario runs on each
engine and must give the same rows: sizes, failures and their texts.
The plain engine's own promises: keep-alive reuse, a server closing
after N requests, no pipelining, one connection per user."""
import os
import subprocess
import unittest

import apexlib
from apexlib import read_csv, wait_for, write_scenario
from http_peer import Peer
import nginx_peer
from test_run import RunCase

SIZES = [0, 1, 4095, 65537, 1048576, 10485760]
CHUNKED = [0, 5000, 1048577]
MID_FAILURE = "CurlError(18, 'Transferred a partial file')"


def _step(name, path, **extra):
    return dict({"name": name, "path": path}, **extra)


def _peer_scenario():
    steps = [_step("cl %d" % n, "/cl/%d" % n) for n in SIZES]
    steps += [_step("chunked %d" % n, "/chunked/%d" % n) for n in CHUNKED]
    steps += [
        _step("eof", "/eof/70000"),
        _step("bytewise", "/bytewise", capture={"slow": {"header": "X-Slow"}},
              check={"slow header": {"header": "X-Slow"}}),
        _step("bigheader", "/bigheader",
              capture={"big": {"header": "X-Big"}}),
        _step("interim", "/interim"),
        _step("nocontent", "/nocontent"),
        _step("notmodified", "/notmodified", expect=[304]),
        _step("redirect", "/redirect"),
        _step("close", "/close"),
        _step("head", "/cl/1000", method="HEAD"),
    ]
    return {"users": [{"name": "U", "wait": {"constant": 0.01}, "tasks": [
        {"name": "all", "weight": 4, "sequence": steps},
        {"name": "mid", "request": _step("mid", "/mid")},
        {"name": "s404", "request": _step("s404", "/status/404",
                                          expect=[200])},
    ]}]}


EXPECTED_SIZE = dict(
    [("cl %d" % n, n) for n in SIZES] +
    [("chunked %d" % n, n) for n in CHUNKED] +
    [("eof", 70000), ("bytewise", 11), ("bigheader", 2), ("interim", 2),
     ("nocontent", 0), ("notmodified", 0), ("redirect", 5), ("close", 3),
     ("head", 0)])


class EngineCase(RunCase):
    def run_engine(self, scn, engine, host, users=2, seconds="4s",
                   extra=()):
        prefix = os.path.join(self.dir, engine)
        m, _ = self.master(scn, "-u", users, "-r", users, "-t", seconds,
                           "--host", host, "--processes", 1, "--csv",
                           prefix, "--engine", engine, *extra,
                           name="master-" + engine)
        self.assertIn(m.wait(90), (0, 1), m.stderr())
        rows = {r["Name"]: r for r in read_csv(prefix + "_stats.csv")}
        errors = {(r["Name"], r["Error"])
                  for r in read_csv(prefix + "_failures.csv")}
        return m, rows, errors


class EnginesTest(EngineCase):
    def test_same_rows_on_both_engines(self):
        peer = Peer()
        self.addCleanup(peer.close)
        scn = write_scenario(self.dir, _peer_scenario())
        seen = {}
        for engine in ("http1", "curl"):
            _, rows, errors = self.run_engine(scn, engine, peer.url)
            for name, size in EXPECTED_SIZE.items():
                self.assertIn(name, rows, engine)
                row = rows[name]
                self.assertGreater(int(row["Request Count"]), 0, name)
                self.assertEqual(row["Failure Count"], "0", (engine, name))
                self.assertEqual(float(row["Average Content Size"]), size,
                                 (engine, name))
            seen[engine] = errors
        self.assertEqual(seen["http1"], {
            ("mid", MID_FAILURE),
            ("s404", "UnexpectedStatus('404 for url: s404, expected 200, "
                     "body: status 404')")})
        self.assertEqual(seen["http1"], seen["curl"])
        # Neither engine ever sent a request before the last response.
        self.assertEqual(peer.pipelined, 0)

    def test_keep_alive_and_a_server_closing_after_n_requests(self):
        root = os.path.join(self.dir, "www")
        os.makedirs(root)
        for n in (0, 1000, 1048576):
            with open(os.path.join(root, "f%d" % n), "wb") as f:
                f.write(b"n" * n)
        port = nginx_peer.start_nginx(self, """
            server {
                listen 127.0.0.1:{port};
                keepalive_requests 5;
                root %s;
            }""" % root)
        scn = write_scenario(self.dir, {"users": [{
            "name": "U", "wait": {"constant": 0.01}, "tasks": [
                {"request": _step("f%d" % n, "/f%d" % n)}
                for n in (0, 1000, 1048576)]}]})
        _, rows, errors = self.run_engine(
            scn, "http1", "http://127.0.0.1:%d" % port, users=3,
            seconds="3s")
        self.assertEqual(errors, set())
        for n in (0, 1000, 1048576):
            self.assertEqual(float(rows["f%d" % n]["Average Content Size"]), n)
        log = nginx_peer.access_log(self)
        self.assertGreater(len(log), 30)
        self.assertEqual({line[3] for line in log}, {"200"})
        per_conn = {}
        for line in log:
            per_conn[line[1]] = max(per_conn.get(line[1], 0), int(line[2]))
        # Connections are reused up to nginx's limit, then opened again;
        # the requests nginx closed on were sent again, never lost.
        self.assertEqual(max(per_conn.values()), 5)
        self.assertGreaterEqual(len(per_conn), len(log) // 5)
        self.assertLessEqual(len(per_conn), len(log) // 5 + 3 + 3)
        served = len(log)
        counted = sum(int(r["Request Count"]) for name, r in rows.items()
                      if name != "Aggregated")
        self.assertLessEqual(counted, served)
        self.assertGreaterEqual(counted, served - 3)  # in flight at the end

    def _established(self, port):
        out = subprocess.run(
            ["ss", "-Htn", "state", "established",
             "( sport = :%d )" % port], capture_output=True,
            text=True, check=True).stdout
        return len([line for line in out.splitlines() if line.strip()])

    def test_a_thousand_users_hold_a_thousand_connections(self):
        port = nginx_peer.start_nginx(self, """
            server {
                listen 127.0.0.1:{port} backlog=2048;
                keepalive_timeout 300s;
                location / { return 200 "ok"; }
            }""")
        scn = write_scenario(self.dir, {"users": [{
            "name": "U", "wait": {"constant_pacing": 2},
            "tasks": [{"request": _step("ok", "/")}]}]})
        users = 1000
        m, _ = self.master(scn, "-u", users, "-r", users, "-t", "60s",
                           "--host", "http://127.0.0.1:%d" % port,
                           "--processes", 1, "--engine", "http1")
        seen = {"n": 0}

        def all_connected():
            seen["n"] = self._established(port)
            return seen["n"] == users
        try:
            wait_for(all_connected, 40,
                     what="%d connections (last seen: %%s)" % users)
        except AssertionError:
            self.fail("nginx saw %d connections for %d users"
                      % (seen["n"], users))
        m.signal(2)
        self.assertIn(m.wait(30), (0, 1), m.stderr())


class HttpDebugTest(EngineCase):
    def test_http_debug_prints_requests_and_responses(self):
        peer = Peer()
        self.addCleanup(peer.close)
        scn = write_scenario(self.dir, {"users": [{
            "name": "U", "wait": {"constant": 0.2}, "tasks": [
                {"request": _step("s400", "/status/400?x=1",
                                  headers={"X-Trace": "t1"})}]}]})
        for engine in ("http1", "curl"):
            m, _, errors = self.run_engine(
                scn, engine, peer.url, users=1, seconds="1s",
                extra=("--http-debug=full",))
            log = m.stderr()
            for line in ("> GET /status/400?x=1 HTTP/1.1", "> X-Trace: t1",
                         "< HTTP/1.1 400 X", "< Content-Length: 10",
                         "< status 400"):
                self.assertIn("http-debug: " + line, log, engine)
            self.assertEqual(errors, {(
                "s400", "HTTPError('400 Client Error: Bad Request for url: "
                        "s400')")}, engine)


if __name__ == "__main__":
    unittest.main()
