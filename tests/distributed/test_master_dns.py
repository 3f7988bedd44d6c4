"""A worker started before the master's name resolves.

As in a container or Kubernetes deployment: the worker dials the master
by name (APEX_MASTER_HOST=apex-master.test), the name does not resolve
yet, and the DNS server does not even answer (it is down, or forwards to
one that waits). The worker must look the name up again at each retry
rather than wait on its first lookup: left to ZeroMQ, that lookup runs in
its I/O thread and holds every reconnection up for the resolver's whole
timeout (here 30 s a try), so the worker would register tens of seconds
after the name appeared.

Everything runs on one test host (a network namespace, see netns.py):
holddns.py is its DNS server on 127.0.0.1:53, and the worker sees a
resolv.conf of the test's own (a mount namespace binds it over
/etc/resolv.conf for that process only). The checks are counts: the DNS
server sees several lookups while it holds them (one per retry, each
from its own socket), and after it starts answering, the worker
registers through a later lookup, runs the test, and logged its waiting
once.

Needs root, iproute2, util-linux and python3-dnslib; skips otherwise.
"""
import os
import re
import unittest

import apexlib
import netns
from apexlib import SIMPLE, binary, read_csv, wait_for, write_scenario

NAME = "apex-master.test"
MASTER_PORT = 5557
HERE = os.path.dirname(os.path.abspath(__file__))

_REASON = None


def setUpModule():
    global _REASON
    _REASON = netns.unavailable_reason()
    if _REASON is None:
        try:
            import dnslib  # noqa: F401 (holddns.py's)
        except ImportError:
            _REASON = "python3-dnslib is not installed (make deps)"
    if _REASON is None:
        netns.remove_stale()


class MasterNameTest(apexlib.ProcCase):
    DIR_PREFIX = "distributed-"
    STOP_TIMEOUT = 5

    def setUp(self):
        if _REASON:
            self.skipTest("cannot run here: " + _REASON)
        super().setUp()
        self.net = netns.Network(900 + os.getpid() % 50)
        self.addCleanup(self.net.close)
        self.net.open()
        self.host = self.net.add_host("h")

    def on_host(self, args, name, resolv=None):
        """Start args on the test host; with resolv, that file is its
        /etc/resolv.conf (a mount namespace of its own)."""
        if resolv:
            args = ["unshare", "--mount", "sh", "-c",
                    'mount --bind "$0" /etc/resolv.conf && exec "$@"',
                    resolv, *args]
        return self.start(["ip", "netns", "exec", self.host.ns,
                           *[str(a) for a in args]], name)

    def lookups(self, dns, what):
        """Source ports (one per lookup) of the queries for NAME that
        the DNS server logged as `what`."""
        return {m.group(1) for m in re.finditer(
            r"^query (\d+) \d+ \S+ %s %s$" % (re.escape(NAME), what),
            dns.stdout(), re.M)}

    def test_worker_registers_once_the_name_resolves(self):
        hold = os.path.join(self.dir, "hold")
        open(hold, "w").close()
        resolv = os.path.join(self.dir, "resolv.conf")
        with open(resolv, "w") as f:
            # glibc's longest timeout: a lookup it sends stays
            # unanswered 30 s before its retry.
            f.write("nameserver 127.0.0.1\noptions timeout:30 attempts:2\n")
        dns = self.on_host(["/usr/bin/python3",
                            os.path.join(HERE, "holddns.py"), "127.0.0.1",
                            NAME, self.host.address, hold], "dns")
        wait_for(lambda: "listening" in dns.stdout() or not dns.running(),
                 10, what="the DNS server")
        self.assertTrue(dns.running(), dns.stderr())

        target = self.on_host([binary("apex-target"), "--port", 8080],
                              "target")
        worker = self.on_host([binary("apex-worker"), "--master-host", NAME,
                               "--master-port", MASTER_PORT], "worker",
                              resolv=resolv)
        # Held: the worker asks again on its retries (1 s, then 2 s),
        # each time in a new lookup, while the first is unanswered.
        wait_for(lambda: len(self.lookups(dns, "held")) >= 2, 20,
                 what="a second lookup while the first is held (%s)"
                 % dns.stdout())
        self.assertTrue(target.running(), target.stderr())
        self.assertIn("looking its name up", worker.stderr())

        csv = os.path.join(self.dir, "run")
        master = self.on_host([
            binary("apex-master"), "-f", write_scenario(self.dir, SIMPLE),
            "--headless", "--master-bind-port", MASTER_PORT,
            "--expect-workers", 1, "--expect-workers-max-wait", 60,
            "-u", 2, "-r", 2, "-t", "2s", "--host", "http://127.0.0.1:8080",
            "--csv", csv, "--only-summary"], "master")
        wait_for(lambda: "Waiting for" in master.stderr(), 20,
                 what="the master to listen")
        held = self.lookups(dns, "held")
        os.unlink(hold)  # the name resolves from now on
        wait_for(lambda: "registered with the master" in worker.stderr(), 20,
                 what="the worker to register (%s)" % worker.stderr())
        self.assertEqual(master.wait(60), 0, master.stderr())
        self.assertEqual(worker.wait(15), 0, worker.stderr())

        # Answered through a lookup begun after the held ones.
        answered = self.lookups(dns, "answered")
        self.assertTrue(answered - held, dns.stdout())
        log = worker.stderr()
        self.assertIn("registered with the master at tcp://%s:%d "
                      "(tcp://%s:%d, worker index 0)"
                      % (NAME, MASTER_PORT, self.host.address, MASTER_PORT),
                      log)
        # One line says why it waits; not one per retry.
        self.assertEqual(log.count("waiting for the master at"), 1, log)
        total = [r for r in read_csv(csv + "_stats.csv")
                 if r["Name"] == "Aggregated"][0]
        self.assertGreater(int(total["Request Count"]), 0, total)
        self.assertEqual(int(total["Failure Count"]), 0, total)


if __name__ == "__main__":
    unittest.main()
