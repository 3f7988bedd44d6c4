"""WebSocket steps against an independent server (Debian's
python3-websockets, tests/integration/ws_peer.py): the counts in the CSV
against what the server counted, failures worded and counted, drops, a
server that never answers, one that breaks the protocol, and wss:// with
a certificate the test makes."""
import json
import os
import subprocess
import sys
import urllib.request

import apexlib
from apexlib import read_csv, wait_for
from test_run import RunCase, write_scenario

HERE = os.path.dirname(os.path.abspath(__file__))


class WsCase(RunCase):
    def peer(self, tls=False):
        ports_file = os.path.join(self.dir, "ws-ports.json")
        args = [sys.executable, os.path.join(HERE, "ws_peer.py"), ports_file]
        if tls:
            args += self.certificates()
        self.start(args, "ws-peer")
        self.ports = wait_for(lambda: os.path.exists(ports_file) and
                              json.load(open(ports_file)), 20,
                              what="the WebSocket server")
        return self.ports

    def certificates(self):
        """A CA and a server certificate for 127.0.0.1 signed by it."""
        d = self.dir
        run = lambda *a: subprocess.run(a, check=True, capture_output=True)
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", d + "/ca.key", "-out", d + "/ca.pem", "-days", "2",
            "-subj", "/CN=apex test CA")
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
            d + "/server.key", "-out", d + "/server.csr", "-subj",
            "/CN=127.0.0.1")
        with open(d + "/ext.cnf", "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        run("openssl", "x509", "-req", "-in", d + "/server.csr", "-CA",
            d + "/ca.pem", "-CAkey", d + "/ca.key", "-CAcreateserial",
            "-out", d + "/server.pem", "-days", "2", "-extfile",
            d + "/ext.cnf")
        return [d + "/server.pem", d + "/server.key"]

    def peer_counts(self):
        url = "http://127.0.0.1:%d/stats" % self.ports["ws"]
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)

    def run_scenario(self, doc, users, seconds="3s", env=None, code=None,
                     name="run"):
        scn = write_scenario(self.dir, doc)
        prefix = os.path.join(self.dir, name)
        m = self.start([apexlib.binary("apex-master"), "-f", scn,
                        "--headless", "--only-summary", "--master-bind-port",
                        apexlib.free_port(), "-u", users, "-r", users, "-t",
                        seconds, "--processes", 1, "--csv", prefix,
                        "--json-file", prefix + ".json"],
                       name, env=env)
        rc = m.wait(60)
        if code is not None:
            self.assertEqual(rc, code, m.stderr()[-3000:])
        self.assertNotIn("AddressSanitizer", m.stderr())
        rows = {r["Name"]: r for r in read_csv(prefix + "_stats.csv")}
        errors = {(r["Name"], r["Error"]): int(r["Occurrences"])
                  for r in read_csv(prefix + "_failures.csv")}
        self.report = json.load(open(prefix + ".json"))
        return rows, errors

    def url(self, path, scheme="ws", port=None):
        port = port or self.ports["wss" if scheme == "wss" else "ws"]
        return "%s://127.0.0.1:%d%s" % (scheme, port, path)


class WsFlowTest(WsCase):
    def test_echo_flow_counts_match_the_server(self):
        self.peer()
        rows, errors = self.run_scenario({
            "thresholds": {"ws_connecting": ["p(95)<60000"],
                           "ws_msg_latency": ["p(99)<60000"],
                           "ws_ping": ["max<60000"],
                           "ws_drop_rate": ["rate==0"],
                           "ws_connections": ["max==3"],
                           "ws_sessions": ["count==3"],
                           "http_reqs": ["count==0"]},
            "users": [{
            "name": "Echo", "wait": {"constant": 0.02},
            "on_start": [{"ws": "connect", "url": self.url("/echo")}],
            "tasks": [{"sequence": [
                {"ws": "request", "name": "echo",
                 "json": {"id": "${uuid()}", "n": "${random_int(1,9)}"},
                 "correlate": "$.id"},
                {"ws": "send", "text": "hello ${random_int(1,3)}"},
                {"ws": "receive", "name": "hello back",
                 "match": {"regex": "^hello [1-3]$"},
                 "capture": {"word": {"regex": "^([a-z]+)"}}},
                {"ws": "send", "text": "${word}!"},
                {"ws": "receive", "name": "word back",
                 "match": {"text": "hello!"}},
                {"ws": "ping"}]}]}]}, 3, code=0)
        self.assertEqual(errors, {})
        echo = int(rows["echo"]["Request Count"])
        self.assertGreater(echo, 20)
        for name in ("hello back", "word back", "ping"):
            n = int(rows[name]["Request Count"])
            self.assertTrue(echo - 3 <= n <= echo, (name, n, echo))
        self.assertEqual(int(rows["connect /echo"]["Request Count"]), 3)
        self.assertNotIn("send", rows)  # sends are not samples
        served = self.peer_counts()
        self.assertEqual(served["connections"], 3)
        # Three messages per task; a task cut off at the end may have
        # sent some of them.
        ours = echo + int(rows["hello back"]["Request Count"]) + \
            int(rows["word back"]["Request Count"])
        self.assertTrue(0 <= served["received"] - ours <= 3 * 3,
                        (served, ours))
        # The run-wide figures the workers counted, against the server.
        fig = self.report["figures"]
        self.assertEqual(fig["counters"]["ws_sessions"], 3)
        self.assertEqual(fig["counters"]["ws_drops"], 0)
        self.assertEqual(fig["peaks"]["ws_connections"], 3)
        # After the run no worker holds a connection: the gauge says 0
        # "now", not what the last report before quitting said.
        self.assertEqual(fig["gauges"]["ws_connections"], 0)
        self.assertEqual(fig["counters"]["ws_msgs_sent"], served["received"])
        self.assertTrue(0 <= fig["counters"]["ws_msgs_sent"] -
                        fig["counters"]["ws_msgs_received"] <= 3 * 3)
        verdicts = {t["source"]: t["ok"] for t in
                    self.report["thresholds"]}
        self.assertEqual(len(verdicts), 7, verdicts)
        self.assertTrue(all(verdicts.values()), verdicts)

    def test_push_latency_from_server_timestamps(self):
        self.peer()
        rows, errors = self.run_scenario({"users": [{
            "name": "Push", "wait": {"constant": 0},
            "on_start": [{"ws": "connect", "url": self.url("/push")}],
            "tasks": [{"ws": "listen", "name": "events", "count": 5,
                       "timestamp": "$.ts"}]}]}, 2, code=0)
        self.assertEqual(errors, {})
        pushes = int(rows["events"]["Request Count"])
        served = self.peer_counts()["pushed"]
        # Every push that arrived is a sample; those in flight at the end
        # are not.
        self.assertGreater(pushes, 50)
        self.assertTrue(served - 2 * 5 <= pushes <= served, (pushes, served))
        self.assertLess(float(rows["events"]["Max Response Time"]), 5000)


class WsFailureTest(WsCase):
    def test_server_close_and_kill_are_failures_and_reconnect(self):
        self.peer()
        rows, errors = self.run_scenario({"users": [{
            "name": "Closing", "wait": {"constant": 0.05},
            "tasks": [
                {"sequence": [
                    {"ws": "connect", "url": self.url("/close"),
                     "name": "connect close"},
                    {"ws": "send", "text": "bye?"},
                    {"ws": "receive", "name": "after close"}]},
                {"sequence": [
                    {"ws": "connect", "url": self.url("/kill"),
                     "name": "connect kill"},
                    {"ws": "send", "text": "die"},
                    {"ws": "receive", "name": "after kill"}]}]}]},
            2, code=1)
        closes = errors[("after close", "WebSocketClosed(4001, 'the server "
                         "closed the connection')")]
        kills = errors[("after kill", "WebSocketClosed(1006, 'connection "
                        "closed without a close frame')")]
        self.assertGreater(closes + kills, 5)
        self.assertEqual(set(errors), {
            ("after close", "WebSocketClosed(4001, 'the server closed the "
             "connection')"),
            ("after kill", "WebSocketClosed(1006, 'connection closed "
             "without a close frame')")})
        served = self.peer_counts()
        # Every connect opened a connection the server saw.
        self.assertEqual(int(rows["connect close"]["Request Count"]) +
                         int(rows["connect kill"]["Request Count"]),
                         served["connections"])
        self.assertTrue(0 <= served["closed_4001"] - closes <= 2)
        self.assertTrue(0 <= served["killed"] - kills <= 2)
        # Every connection the server closed or killed is a drop; ours
        # (the next connect) are closes.
        drops = self.report["figures"]["counters"]["ws_drops"]
        self.assertTrue(closes + kills <= drops <= closes + kills + 2,
                        (drops, closes, kills))
        self.assertGreater(self.report["figures"]["ws_drop_rate"], 0.5)

    def test_refused_silent_and_broken_servers(self):
        self.peer()
        rows, errors = self.run_scenario({"users": [{
            "name": "Bad", "wait": {"constant": 0.05},
            "tasks": [
                {"ws": "connect", "url": self.url("/forbidden"),
                 "name": "forbidden"},
                {"ws": "connect", "url": self.url("/", port=self.ports[
                    "silent"]), "name": "silent", "timeout": 0.5},
                {"sequence": [
                    {"ws": "connect", "url": self.url("/", port=self.ports[
                        "bad"]), "name": "bad"},
                    {"ws": "receive", "name": "bad frame"}]},
                {"sequence": [
                    {"ws": "close"},
                    {"ws": "send", "text": "nobody there",
                     "name": "orphan send"}]}]}]}, 2, seconds="4s",
            code=1)
        names = {name for name, _ in errors}
        self.assertEqual(names, {"forbidden", "silent", "bad frame",
                                 "orphan send"}, errors)
        self.assertIn(("forbidden", "WebSocketBadStatus('403: the server did "
                       "not switch protocols')"), errors)
        self.assertIn(("silent", "WebSocketTimeout('silent: nothing within "
                       "0.5 s')"), errors)
        self.assertIn(("orphan send", "WebSocketNotConnected('orphan send: "
                       "no open connection')"), errors)
        bad = [e for n, e in errors if n == "bad frame"]
        self.assertTrue(all(e.startswith("WebSocket") for e in bad), bad)
        # The upgrade to the bad server succeeded; its frame broke it.
        self.assertEqual(rows["bad"]["Failure Count"], "0")


class WsTlsTest(WsCase):
    def test_wss_verified_with_the_test_ca_and_refused_without(self):
        self.peer(tls=True)
        doc = {"users": [{"name": "Tls", "wait": {"constant": 0.05},
                          "on_start": [{"ws": "connect",
                                        "url": self.url("/echo", "wss")}],
                          "tasks": [{"ws": "request", "name": "tls echo",
                                     "json": {"id": "${uuid()}"},
                                     "correlate": "$.id"}]}]}
        env = {"SSL_CERT_FILE": os.path.join(self.dir, "ca.pem")}
        rows, errors = self.run_scenario(doc, 2, env=env, code=0)
        self.assertEqual(errors, {})
        self.assertGreater(int(rows["tls echo"]["Request Count"]), 10)
        rows, errors = self.run_scenario(doc, 1, seconds="1s",
                                         name="no-ca")
        # on_start's connect fails; the tasks then find no connection, as
        # a Locust user goes on to its tasks after on_start raised.
        verify = [e for n, e in errors if n == "connect /echo"]
        self.assertEqual(len(verify), 1, errors)
        self.assertIn("SSLError('certificate verify failed", verify[0])
        self.assertEqual({n for n, _ in errors}, {"connect /echo",
                                                  "tls echo"})
        self.assertEqual(rows["tls echo"]["Failure Count"],
                         rows["tls echo"]["Request Count"])
