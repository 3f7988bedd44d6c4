"""What an eavesdropper on the network between a master and a worker sees,
with and without CURVE: apex-master, apex-worker and apex-target on three
test hosts (network namespaces on a bridge, see netns.py), and a raw
packet capture (capture.py, AF_PACKET) on the worker host's interface,
kept to the master's port.

The scenario sends a token from the environment (AUTH_TOKEN) in a header
and in a URL that fails. Without CURVE the master's spawn message carries
it in clear to the worker, and the capture must find it there (so the
test can fail); the worker's reports never carry it, because the worker
masks its failure texts before sending them. With CURVE neither direction
carries the token, nor any protocol word in clear, and the run still
works.

Needs root, iproute2 and util-linux; skips with the reason otherwise.
"""
import os
import subprocess
import sys
import unittest

import apexlib
import netns
from apexlib import binary, read_csv, wait_for, write_scenario

MASTER_PORT = 5557
TARGET_PORT = 8080
TOKEN = "eavesdrop-t0ken-91c4"
SCENARIO = {
    "headers": {"Authorization": "Bearer ${AUTH_TOKEN}"},
    "users": [{
        "name": "TokenUser",
        "wait": {"constant": 0.1},
        "tasks": [
            {"request": {"path": "/health"}},
            {"request": {"path": "/nope", "query": {"t": "${AUTH_TOKEN}"}}},
        ],
    }],
}
HERE = os.path.dirname(os.path.abspath(__file__))

_REASON = None
_TAGS = iter(range(500, 1000))


def setUpModule():
    global _REASON
    _REASON = netns.unavailable_reason()
    if _REASON is None:
        netns.remove_stale()


class CaptureTest(apexlib.ProcCase):
    DIR_PREFIX = "distributed-"
    STOP_TIMEOUT = 5

    def setUp(self):
        if _REASON:
            self.skipTest("cannot build test hosts here: " + _REASON)
        super().setUp()
        self.net = netns.Network(next(_TAGS))
        self.addCleanup(self.net.close)
        self.net.open()
        self.master_host = self.net.add_host("master")
        self.target_host = self.net.add_host("target")
        self.worker_host = self.net.add_host("w1")
        t = self.target_host
        self.start(t.command([binary("apex-target"), "--bind", t.address,
                              "--port", TARGET_PORT]), "target")
        self.base = "http://%s:%d" % (t.address, TARGET_PORT)
        wait_for(lambda: self.master_host.http("GET", self.base + "/health",
                                               timeout=1)[0] == 200,
                 15, interval=0.1, what="apex-target across the bridge")
        keys = os.path.join(self.dir, "keys")
        gen = self.start([binary("apex-master"), "--gen-keys", keys], "gen")
        self.assertEqual(gen.wait(10), 0, gen.stderr())
        self.keys = keys

    def run_capture(self, name, master_args, worker_args):
        """One 3 s run with a capture on the worker host; returns the bytes
        (to the master port, from it) and the master's CSV prefix."""
        outdir = os.path.join(self.dir, name)
        os.makedirs(outdir)
        cap = subprocess.Popen(
            ["ip", "netns", "exec", self.worker_host.ns, sys.executable,
             os.path.join(HERE, "capture.py"), "eth0", str(MASTER_PORT),
             outdir], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self.addCleanup(lambda: cap.poll() is None and cap.kill())
        self.assertEqual(cap.stdout.readline().strip(), "ready",
                         cap.stderr.read() if cap.poll() is not None else "")
        m = self.master_host
        prefix = os.path.join(outdir, "run")
        master = self.start(m.command([
            binary("apex-master"), "-f", write_scenario(self.dir, SCENARIO),
            "--headless", "--master-bind-host", m.address,
            "--master-bind-port", MASTER_PORT, "--expect-workers", 1,
            "--expect-workers-max-wait", 30, "-u", 2, "-r", 2, "-t", "3s",
            "--host", self.base, "--csv", prefix, "--only-summary",
            *master_args]), name + "-master", env={"AUTH_TOKEN": TOKEN})
        worker = self.start(self.worker_host.command([
            binary("apex-worker"), "--master-host", m.address,
            "--master-port", MASTER_PORT, *worker_args]), name + "-worker")
        # 1: the requests to /nope failed (404), as they should.
        self.assertEqual(master.wait(40), 1, master.stderr())
        self.assertEqual(worker.wait(15), 0, worker.stderr())
        cap.terminate()
        self.assertEqual(cap.wait(15), 0, cap.stderr.read())
        up = open(os.path.join(outdir, "to_port.bin"), "rb").read()
        down = open(os.path.join(outdir, "from_port.bin"), "rb").read()
        # The run worked: failures were reported, masked.
        failures = read_csv(prefix + "_failures.csv")
        self.assertTrue(failures and all("t=***" in r["Error"] or
                                         r["Name"] != "/nope"
                                         for r in failures), failures)
        return up, down

    def test_curve_hides_the_token_plain_text_does_not(self):
        up, down = self.run_capture("plain", [], [])
        # Without CURVE: the protocol in clear, the token in the spawn
        # message the master sent, never in what the worker sent.
        self.assertIn(b"client_ready", up)
        self.assertIn(b"spawn", down)
        self.assertIn(TOKEN.encode(), down)
        self.assertNotIn(TOKEN.encode(), up)

        k = self.keys
        up, down = self.run_capture(
            "curve",
            ["--master-key", os.path.join(k, "master.key_secret"),
             "--authorized-workers", os.path.join(k, "authorized")],
            ["--master-public-key", os.path.join(k, "master.key"),
             "--worker-key", os.path.join(k, "worker.key_secret")])
        # The capture saw the traffic (the spawn with its scenario is
        # hundreds of bytes), and none of it is readable.
        self.assertGreater(len(down), 500)
        self.assertGreater(len(up), 500)
        for data in (up, down):
            self.assertNotIn(TOKEN.encode(), data)
            for word in (b"client_ready", b"spawn", b"heartbeat", b"stats",
                         b"Authorization", b"TokenUser"):
                self.assertNotIn(word, data)
        # The handshake says CURVE in clear, as ZMTP does.
        self.assertIn(b"CURVE", up)


if __name__ == "__main__":
    unittest.main()
