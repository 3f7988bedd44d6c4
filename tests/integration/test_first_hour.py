"""A Locust or k6 user's first hour (the first-hour issue): each habit as
it should work, against real processes on 127.0.0.1."""
import datetime
import os
import re
import signal

from apexlib import SIMPLE, binary, free_port, wait_for, write_scenario
from test_run import RunCase

LOG_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]")


def log_time(line):
    stamp = LOG_TIME.match(line).group(1)
    return datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")


def first_line(text, needle):
    return next(line for line in text.splitlines() if needle in line)


class RegistrationTest(RunCase):
    def test_first_client_ready_is_answered(self):
        # The DEALER refuses sends until its connection is up (so nothing
        # piles up for a master that is down); the first client_ready used
        # to be refused that way and re-sent only a second later.
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        port = free_port()
        m = self.start([binary("apex-master"), "-f", scn, "--headless",
                        "--master-bind-port", port, "-u", 1, "-r", 1,
                        "-t", "1s", "--host", base, "--only-summary"],
                       "master")
        wait_for(lambda: "Waiting for" in m.stderr(), 20,
                 what="the master waiting for workers")
        w = self.worker(port, "worker")
        self.assertEqual(m.wait(30), 0, m.stderr())
        self.assertEqual(w.wait(10), 0)
        log = w.stderr()
        started = log_time(first_line(log, "starting apex-worker"))
        registered = log_time(first_line(log, "registered with the master"))
        self.assertNotIn("no answer from the master", log)
        # Well before the one-second retry the refused send waited for.
        self.assertLess((registered - started).total_seconds(), 0.8, log)


    def test_waiting_is_logged_once_a_minute_not_per_retry(self):
        # A master that takes client_ready and never answers (a raw
        # ROUTER): the worker retries with back-off (1 s, 2 s, 4 s, 5 s)
        # and says once why it waits, instead of once per retry.
        import msgpack
        import zmq
        ctx = zmq.Context()
        sock = ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        port = sock.bind_to_random_port("tcp://127.0.0.1")
        try:
            w = self.worker(port, "worker")
            readies = 0
            while readies < 4:  # the first try and three retries
                self.assertTrue(sock.poll(20000), "no client_ready")
                _, payload = sock.recv_multipart()
                msg = msgpack.unpackb(payload, raw=False)
                readies += msg[0] == "client_ready"
            log = w.stderr()
            self.assertEqual(log.count("waiting for the master at"), 1, log)
            self.assertRegex(log, r"waiting for the master at "
                             r"tcp://127\.0\.0\.1:%d for \d+ s: no answer to "
                             r"client_ready yet" % port)
            w.signal(signal.SIGTERM)
            self.assertEqual(w.wait(10), 0, w.stderr())
        finally:
            sock.close()
            ctx.term()


class ShutdownTest(RunCase):
    def test_missing_workers_do_not_hold_up_the_end(self):
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        port = free_port()
        m = self.start([binary("apex-master"), "-f", scn, "--headless",
                        "--master-bind-port", port, "-u", 4, "-r", 4,
                        "-t", "9s", "--host", base, "--expect-workers", 2,
                        "--only-summary"], "master")
        self.worker(port, "worker1")
        frozen = self.worker(port, "worker2")
        wait_for(lambda: "All users spawned" in m.stderr(), 20,
                 what="users on both workers")
        frozen.signal(signal.SIGSTOP)
        self.addCleanup(frozen.signal, signal.SIGCONT)
        wait_for(lambda: "missing" in m.stderr(), 20,
                 what="the frozen worker marked missing")
        m.wait(40)
        log = m.stderr()
        end = log_time(first_line(log, "--run-time limit reached"))
        last = log_time(log.strip().splitlines()[-1])
        self.assertIn("1 missing worker was not waited for: ", log)
        self.assertNotIn("did not confirm quit", log)
        # The quit wait (5 s) is not spent on a worker that cannot answer.
        self.assertLess((last - end).total_seconds(), 4, log[-2000:])


class LocalDefaultTest(RunCase):
    def test_no_worker_options_runs_locally_like_locust(self):
        # `locust -f x --headless -u 2 -t 3s` just runs; so does this.
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        prefix = os.path.join(self.dir, "run")
        m = self.start([binary("apex-master"), "-f", scn, "--headless",
                        "-u", 2, "-r", 2, "-t", "3s", "--host", base,
                        "--master-bind-port", 0, "--csv", prefix,
                        "--only-summary"], "master",
                       env={"APEX_PROCESSES": None})
        self.assertEqual(m.wait(40), 0, m.stderr())
        cores = os.cpu_count()
        self.assertIn("starting %d local workers (one per core)" % cores,
                      m.stderr())
        self.assertEqual(m.stderr().count("reported as ready"), cores)
        self.assert_counts_match(base, prefix)

    def test_expect_workers_alone_starts_no_local_worker(self):
        scn = write_scenario(self.dir, SIMPLE)
        m = self.start([binary("apex-master"), "-f", scn, "--headless",
                        "-u", 1, "-t", "1s", "--master-bind-port", 0,
                        "--expect-workers", 1, "--expect-workers-max-wait",
                        "1s"], "master", env={"APEX_PROCESSES": None})
        self.assertEqual(m.wait(30), 3)  # no worker came
        self.assertNotIn("local workers", m.stderr())
