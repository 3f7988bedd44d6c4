"""apex-master, three apex-workers and apex-target on five test hosts.

Each host is a network namespace with its own address on a bridge (see
netns.py). `ip netns exec` alone would leave every host with the machine's
hostname, so all worker ids ("<hostname>_<hex>") would share one host part
(harmless for the protocol, but not what three machines look like); each
host therefore also gets a UTS namespace with its own hostname, and the
test checks that the three workers report three different hosts.

Nothing listens on or connects to 127.0.0.1: the master binds its host's
address, workers dial it, and workers call the target's address.

Needs root, iproute2 and util-linux; skips with the reason otherwise.
Run: /usr/bin/python3 tests/run_integration.py --dir distributed
"""
import json
import os
import re
import signal
import unittest

import apexlib
import netns
from apexlib import (ROUTES, SIMPLE, binary, read_csv, wait_for,
                     write_scenario)

MASTER_PORT = 5557
TARGET_PORT = 8080
USERS = 6

# A row of the master's final "Workers" table: id, kind, state,
# max users, CPU %, memory MB, # reqs, # fails.
WORKER_ROW = re.compile(r"^(?P<host>\S+)_(?P<hex>[0-9a-f]{32})\s+"
                        r"(?P<kind>apex \S+)\s+(?P<state>\S+)\s+"
                        r"(?P<users>\d+)\s+\S+\s+\S+\s+(?P<reqs>\d+)\s+"
                        r"(?P<fails>\d+)\s*$", re.M)

_REASON = None
_TAGS = iter(range(1, 1000))


def setUpModule():
    global _REASON
    _REASON = netns.unavailable_reason()
    if _REASON is None:
        netns.remove_stale()


def tearDownModule():
    if _REASON:
        return
    mine = "apx%dt" % os.getpid()
    left = [n for n in netns.namespaces() if n.startswith(mine)]
    left += [n for n in netns.host_links() if n.startswith(mine)]
    if left:
        raise AssertionError("namespaces or interfaces left: %s" % left)


class MultiHostTest(apexlib.ProcCase):
    DIR_PREFIX = "distributed-"
    STOP_TIMEOUT = 5

    def setUp(self):
        if _REASON:
            self.skipTest("cannot build test hosts here: " + _REASON)
        super().setUp()
        self.net = netns.Network(next(_TAGS))
        # tearDown stops the processes before this cleanup deletes the
        # namespaces they run in; it also runs when setUp fails.
        self.addCleanup(self.net.close)
        self.net.open()
        self.master_host = self.net.add_host("master")
        self.target_host = self.net.add_host("target")
        self.workers_hosts = [self.net.add_host("w%d" % i)
                              for i in (1, 2, 3)]

    def start_on(self, host, args, name):
        """Start a process on one of the test hosts."""
        return self.start(host.command(args), name)

    # -- the programs ------------------------------------------------------

    def target(self):
        t = self.target_host
        proc = self.start_on(t, [binary("apex-target"), "--bind", t.address,
                              "--port", TARGET_PORT, "--threads", 2],
                          "target")
        base = "http://%s:%d" % (t.address, TARGET_PORT)

        def up():
            if not proc.running():
                raise AssertionError("apex-target exited: " + proc.stderr())
            # Asked from the master's host: proves the bridge carries it.
            return self.master_host.http("GET", base + "/health",
                                         timeout=1)[0] == 200
        wait_for(up, 15, interval=0.1,
                 what="apex-target to answer /health across the bridge")
        status, _ = self.master_host.http("POST", base + "/stats/reset")
        self.assertEqual(status, 200)
        return base

    def target_counts(self, base):
        status, text = self.master_host.http("GET", base + "/stats")
        self.assertEqual(status, 200, text)
        return json.loads(text)

    def master(self, base, prefix, *extra):
        path = write_scenario(self.dir, SIMPLE)
        m = self.master_host
        return self.start_on(m, [
            binary("apex-master"), "-f", path, "--headless",
            "--master-bind-host", m.address,
            "--master-bind-port", MASTER_PORT,
            "--expect-workers", 3, "--expect-workers-max-wait", 30,
            "-u", USERS, "-r", USERS, "--host", base, "--csv", prefix,
            "--only-summary", *extra], "master")

    def workers(self):
        return [self.start_on(h, [binary("apex-worker"), "--master-host",
                               self.master_host.address, "--master-port",
                               MASTER_PORT], "worker-" + h.name)
                for h in self.workers_hosts]

    # -- checks ------------------------------------------------------------

    def assert_counts_match(self, base, prefix, unserved=None):
        """Our merged CSV counts per route equal what the target served,
        plus `unserved` (route key -> requests that failed to connect)."""
        served = self.target_counts(base)["requests"]
        total, rows = self.assert_routes_served(served, prefix,
                                                unserved=unserved)
        lost = sum((unserved or {}).values())
        self.assertEqual(int(total["Failure Count"]), lost, rows)
        self.assertEqual(int(total["Request Count"]) - lost,
                         sum(served[k] for k in ROUTES.values()))
        return int(total["Request Count"])

    def failed_connects(self, prefix):
        """Route key -> requests that could not connect (the failures
        CSV); any other failure fails the test."""
        unserved = {}
        for r in read_csv(prefix + "_failures.csv"):
            self.assertIn("Couldn't connect", r["Error"], r)
            key = ROUTES[(r["Method"], r["Name"])]
            unserved[key] = unserved.get(key, 0) + int(r["Occurrences"])
        return unserved

    def worker_rows(self, master):
        """The final Workers table, one dict per worker."""
        rows = [m.groupdict() for m in WORKER_ROW.finditer(master.stdout())]
        self.assertEqual(len(rows), 3, master.stdout())
        return rows

    def assert_three_hosts(self, master, workers, fails=None):
        """fails: hostname -> failures allowed (default none)."""
        rows = self.worker_rows(master)
        # Three different host parts: each worker ran on its own host.
        self.assertEqual({r["host"] for r in rows},
                         {h.hostname() for h in self.workers_hosts}, rows)
        for r in rows:
            self.assertEqual(r["kind"], "apex 0.1.0", r)
            self.assertGreater(int(r["reqs"]), 0, r)
            self.assertEqual(int(r["fails"]), (fails or {}).get(r["host"], 0),
                             r)
        for w in workers:
            err = w.stderr()
            self.assertIn("registered with the master at tcp://%s:%d"
                          % (self.master_host.address, MASTER_PORT), err)
            self.assertIn("scenario received from the master", err)
        return rows

    # -- tests -------------------------------------------------------------

    def test_three_hosts_share_the_load_and_counts_match(self):
        base = self.target()
        prefix = os.path.join(self.dir, "run")
        m = self.master(base, prefix, "-t", "5s")
        ws = self.workers()
        self.assertEqual(m.wait(45), 0, m.stderr())
        for w in ws:
            self.assertEqual(w.wait(15), 0, w.stderr())
        rows = self.assert_three_hosts(m, ws)
        # 6 users over 3 hosts: the dispatcher gives each host 2.
        self.assertEqual(sorted(int(r["users"]) for r in rows), [2, 2, 2],
                         rows)
        self.assertIn("Sending spawn jobs of %d users" % USERS, m.stderr())
        total = self.assert_counts_match(base, prefix)
        self.assertGreater(total, 100)

    def test_cut_link_worker_goes_missing_then_heals(self):
        base = self.target()
        prefix = os.path.join(self.dir, "run")
        # No run time: the test ends the run with SIGTERM once it has seen
        # what it looks for (a bounded wait each time).
        m = self.master(base, prefix)
        ws = self.workers()
        wait_for(lambda: "All users spawned" in m.stderr(), 20,
                 what="the ramp to finish")
        victim = self.workers_hosts[2]
        victim.cut()
        wait_for(lambda: "failed to send heartbeat, setting state to "
                 "missing" in m.stderr(), 10,
                 what="the master to mark the cut worker missing")
        err = m.stderr()
        missing = re.search(r"Worker (\S+)_[0-9a-f]{32} failed to send "
                            r"heartbeat", err)
        self.assertEqual(missing.group(1), victim.hostname(), err)
        wait_for(lambda: "rebalancing %d users over 2 workers" % USERS
                 in m.stderr(), 5,
                 what="the users of the missing worker to move")
        served_while_cut = self.target_counts(base)["total"]
        victim.restore()
        # TCP retransmits with back-off, so healing takes a few seconds.
        wait_for(lambda: "self-healed" in m.stderr(), 25, interval=0.2,
                 what="the worker to heal once its link is back")
        wait_for(lambda: "rebalancing %d users over 3 workers" % USERS
                 in m.stderr().split("self-healed", 1)[1], 5,
                 what="the users to be spread over 3 workers again")
        # Some load after healing, seen by the target (not a timing
        # assertion: only a condition to wait for).
        wait_for(lambda: self.target_counts(base)["total"]
                 > served_while_cut + 100, 15, interval=0.2,
                 what="requests after the heal")
        m.signal(signal.SIGTERM)
        code = m.wait(30)
        # The cut worker's users share its connections (libcurl's pool):
        # one that needed a new connection while the cable was out fails
        # to connect (no route to the target). Those are the only
        # failures allowed, and they make the exit code 1.
        unserved = self.failed_connects(prefix)
        lost = sum(unserved.values())
        self.assertEqual(code, 1 if lost else 0, m.stderr() + m.stdout())
        for w in ws:
            self.assertEqual(w.wait(15), 0, w.stderr())
        err = m.stderr()
        order = [err.index("failed to send heartbeat"),
                 err.index("rebalancing %d users over 2 workers" % USERS),
                 err.index("self-healed")]
        self.assertEqual(order, sorted(order), err)
        self.assertRegex(err, r"Worker %s_[0-9a-f]{32} self-healed with "
                         r"heartbeat" % re.escape(victim.hostname()))
        rows = self.assert_three_hosts(m, ws, {victim.hostname(): lost})
        for r in rows:
            self.assertGreaterEqual(int(r["users"]), 2, r)
        # The stats the cut worker queued while unreachable were delivered
        # after the heal: nothing lost, nothing counted twice.
        self.assert_counts_match(base, prefix, unserved)


if __name__ == "__main__":
    unittest.main()
