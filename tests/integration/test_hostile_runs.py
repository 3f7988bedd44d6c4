"""Findings of the hostile review (issue 19) about runs and workers, each
reproduced against real processes on 127.0.0.1: absurd user counts,
requests cut off at the end of a run, outputs that cannot be written, and
responses larger than a worker keeps."""
import json
import os
import time

import msgpack
import zmq

from apexlib import binary, free_port, wait_for
from test_run import RunCase

WORKER_NOFILE = 4160  # the worker's open-file limit: takes 4,096 users


def vm_hwm_kib(pid):
    """The peak resident memory of a process (VmHWM), in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for %d" % pid)


class FakeMaster:
    """A ZeroMQ ROUTER speaking Locust's protocol to one real worker."""

    def __init__(self, case):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.port = free_port()
        self.sock.bind("tcp://127.0.0.1:%d" % self.port)
        case.addCleanup(self.ctx.term)
        case.addCleanup(self.sock.close)
        self.ident = None
        self.node = None
        self.seen = []

    def recv(self, timeout=100):
        if not self.sock.poll(timeout):
            return None
        ident, payload = self.sock.recv_multipart()
        self.ident = ident
        msg = msgpack.unpackb(payload, raw=False, strict_map_key=False)
        self.node = msg[2]
        self.seen.append(msg)
        return msg

    def send(self, kind, data):
        self.sock.send_multipart([self.ident,
                                  msgpack.packb([kind, data, self.node])])

    def wait(self, kind, timeout):
        def got():
            msg = self.recv()
            return msg if msg and msg[0] == kind else None
        return wait_for(got, timeout, what=kind)

    def spawn(self, classes, scenario, host="http://127.0.0.1:1"):
        self.send("spawn", {
            "timestamp": time.time(), "user_classes_count": classes,
            "host": host, "stop_timeout": None,
            "parsed_options": {"host": host, "num_users": 1,
                               "spawn_rate": 1, "tags": None,
                               "exclude_tags": None,
                               "apex_scenario": json.dumps(scenario)}})


class UserCountTest(RunCase):
    def test_the_master_refuses_absurd_user_counts(self):
        # Finding 7: -u 10000000 was accepted, and workers tried to make
        # them all at once.
        scn = os.path.join(self.dir, "s.json")
        with open(scn, "w") as f:
            json.dump({"users": [{"name": "U", "tasks": [
                {"request": {"path": "/"}}]}]}, f)
        m, _ = self.master(scn, "-u", 10000000)
        self.assertEqual(m.wait(10), 2)
        self.assertIn("--users: expected an integer from 0 to 1000000, got "
                      "'10000000'", m.stderr())

    def test_a_worker_caps_users_and_keeps_its_heartbeat(self):
        # Finding 7: a master asking for INT32_MAX users made a worker
        # allocate them in one loop (1.8 GB for 10 million), with no
        # heartbeat, until it was marked missing. Now it makes what its
        # open-file limit and memory allow, in slices, says so, and keeps
        # its heartbeat.
        fake = FakeMaster(self)
        w = self.start(["sh", "-c", 'ulimit -n %d && exec "$0" "$@"'
                        % WORKER_NOFILE, binary("apex-worker"),
                        "--master-port", fake.port], "worker")
        fake.wait("client_ready", 20)
        fake.send("ack", {"index": 0})
        idle = {"users": [{"name": "U", "wait": {"constant": 600},
                           "tasks": [{"sequence": [{"sleep": 600}]}]}]}
        fake.spawn({"U": 2 ** 31 - 1}, idle)
        done = fake.wait("spawning_complete", 60)
        users = done[1]["user_count"]
        cap = WORKER_NOFILE - 64
        self.assertEqual(users, cap)
        exceptions = [m for m in fake.seen if m[0] == "exception"]
        self.assertEqual(len(exceptions), 1, exceptions)
        self.assertIn("asked for 2147483647 users, but this worker runs at "
                      "most %d (open-file limit %d): running %d"
                      % (cap, cap + 64, cap), exceptions[0][1]["msg"])
        # Heartbeats go on while the users exist.
        beats = len([m for m in fake.seen if m[0] == "heartbeat"])
        wait_for(lambda: fake.recv() and len(
            [m for m in fake.seen if m[0] == "heartbeat"]) >= beats + 3,
            20, what="three more heartbeats")
        self.assertLess(vm_hwm_kib(w.pid), 1 << 20)  # 1 GiB
        fake.send("quit", None)
        self.assertEqual(w.wait(20), 0, w.stderr())
