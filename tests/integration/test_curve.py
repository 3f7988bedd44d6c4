"""CURVE on the master/worker link, with real processes on 127.0.0.1:
keys made by `apex-master --gen-keys`, a worker with the right keys joins
and runs, workers with a key the master does not admit, with no keys or
with another master's public key are refused (each reason logged once and
counted in /metrics) and leave the run's statistics untouched: the CSV
still counts exactly what apex-target served. Also the options' errors
and the local workers (--processes) of a CURVE master."""
import os
import re
import signal

from apexlib import SIMPLE, binary, free_port, http, read_csv, wait_for
from test_run import RunCase, write_scenario


def refused(metrics_text):
    """reason -> apex_workers_refused_total."""
    out = {}
    for m in re.finditer(r'^apex_workers_refused_total\{reason="([a-z_]+)"'
                         r'[^}]*\} (\d+)', metrics_text, re.M):
        out[m.group(1)] = int(m.group(2))
    return out


class CurveTest(RunCase):
    def keys(self, name):
        path = os.path.join(self.dir, name)
        p = self.start([binary("apex-master"), "--gen-keys", path],
                       "gen-" + name)
        self.assertEqual(p.wait(10), 0, p.stderr())
        self.assertIn("--master-key %s/master.key_secret" % path, p.stdout())
        return path

    def test_right_keys_run_wrong_and_no_keys_are_refused(self):
        base = self.target()
        keys, other = self.keys("keys"), self.keys("other")
        prefix = os.path.join(self.dir, "run")
        web = free_port()
        m, port = self.master(
            write_scenario(self.dir, SIMPLE), "--expect-workers", 1,
            "-u", 4, "-r", 4, "--host", base, "--csv", prefix,
            "--master-key", os.path.join(keys, "master.key_secret"),
            "--authorized-workers", os.path.join(keys, "authorized"),
            "--metrics", "--web-host", "127.0.0.1", "--web-port", web)
        metrics_url = "http://127.0.0.1:%d/metrics" % web
        # Refused: a key the master does not admit, no keys at all (what
        # a Locust worker does), another master's public key.
        bad = {
            "stranger": self.worker(
                port, "stranger", "--master-public-key",
                os.path.join(keys, "master.key"), "--worker-key",
                os.path.join(other, "worker.key_secret")),
            "nokeys": self.worker(port, "nokeys"),
            "wrongmaster": self.worker(
                port, "wrongmaster", "--master-public-key",
                os.path.join(other, "master.key"), "--worker-key",
                os.path.join(keys, "worker.key_secret")),
        }

        seen = {}

        def all_refused():
            try:
                status, _, body = http("GET", metrics_url, timeout=2)
            except OSError:
                return False
            counts = refused(body.decode())
            seen.update(counts)
            # libzmq keeps retrying a handshake that did not decrypt (not
            # one whose key was refused), and is logged once all the same.
            # A worker without CURVE may hang up before the master sees
            # the mismatch (the end that reads the other's greeting first
            # hangs up), so either reason stands for it.
            plain = counts.get("no_curve", 0) + counts.get(
                "closed_during_handshake", 0)
            return status == 200 and counts.get("wrong_master_key", 0) >= 2 \
                and counts.get("not_authorized", 0) >= 1 and plain >= 1 \
                and counts
        try:
            counts = wait_for(all_refused, 20, what="three kinds of refusals")
        except AssertionError:
            raise AssertionError("refusals seen in /metrics: %s" % seen)
        self.assertEqual(counts.get("curve_not_enabled"), 0, counts)
        self.assertIn("Waiting for 1 workers", m.stderr())
        self.assertNotIn("reported as ready", m.stderr())

        good = self.worker(port, "good", "--master-public-key",
                           os.path.join(keys, "master.key"), "--worker-key",
                           os.path.join(keys, "worker.key_secret"))
        wait_for(lambda: "All users spawned" in m.stderr(), 20,
                 what="the ramp")
        wait_for(lambda: os.path.exists(prefix + "_stats.csv") and any(
            int(r["Request Count"]) > 20 for r in read_csv(
                prefix + "_stats.csv") if r["Name"] == "Aggregated"), 20,
            what="requests")
        m.signal(signal.SIGTERM)
        self.assertEqual(m.wait(30), 0, m.stderr())
        # Only the good worker's requests, all of them.
        self.assert_counts_match(base, prefix)
        err = m.stderr()
        self.assertEqual(err.count("reported as ready"), 1, err)
        # Each reason once, though the workers kept trying.
        self.assertEqual(len(re.findall(
            r"refused a worker at 127\.0\.0\.1: its public key \S+ is not "
            r"in --authorized-workers", err)), 1, err)
        self.assertLessEqual(err.count("it does not use CURVE, which this "
                                       "master requires"), 1, err)
        self.assertLessEqual(err.count("it hung up during the handshake, as "
                                       "a worker without CURVE does (a "
                                       "Locust worker"), 1, err)
        self.assertRegex(err, "it does not use CURVE, which this master "
                         "requires|it hung up during the handshake, as a "
                         "worker without CURVE does")
        self.assertEqual(err.count("its CURVE handshake does not decrypt"),
                         1, err)
        # The refused workers say why, once per reason (the one without
        # keys may see the mismatch or a hang-up).
        for name, text in (("stranger", "does not admit this worker's key"),
                           ("nokeys", "CURVE (give this worker "
                                      "--master-public-key"),
                           ("wrongmaster", "hung up during the CURVE "
                                           "handshake")):
            werr = bad[name].stderr()
            self.assertIn(text, werr)
            self.assertLessEqual(werr.count("refused this worker"), 2, werr)
            self.assertNotIn("registered with the master", werr)
        self.assertEqual(good.wait(15), 0, good.stderr())
        self.assertIn("(CURVE)", good.stderr())

    def test_processes_get_the_keys_and_options_are_checked(self):
        base = self.target()
        keys = self.keys("keys")
        prefix = os.path.join(self.dir, "run")
        scenario = write_scenario(self.dir, SIMPLE)
        master_key = os.path.join(keys, "master.key_secret")
        authorized = os.path.join(keys, "authorized")
        with_env = write_scenario(self.dir, dict(
            SIMPLE, headers={"X-Token": "${APEX_TEST_TOKEN}"}), "env.json")
        m, _ = self.master(with_env, "--processes", 2, "-u", 2, "-r", 2,
                           "-t", "2s", "--host", base, "--csv", prefix,
                           "--master-key", master_key,
                           "--authorized-workers", authorized,
                           "--worker-key",
                           os.path.join(keys, "worker.key_secret"),
                           env={"APEX_TEST_TOKEN": "t0ken-value"})
        self.assertEqual(m.wait(30), 0, m.stderr())
        self.assertEqual(m.stderr().count("reported as ready"), 2)
        self.assertNotIn("refused", m.stderr())
        # All interfaces, environment values, but CURVE: no warning.
        self.assertNotIn("sent in clear", m.stderr())
        self.assertIn("(CURVE: only workers whose keys are in "
                      "--authorized-workers)", m.stderr())
        self.assert_counts_match(base, prefix)

        def usage(*args):
            p, _ = self.master(scenario, *args, name="usage")
            self.assertEqual(p.wait(10), 2, p.stderr())
            self.procs.remove(p)
            return p.stderr()
        self.assertIn("--master-key needs --authorized-workers DIR",
                      usage("--master-key", master_key))
        self.assertIn("--allow-any-worker needs --master-key",
                      usage("--allow-any-worker"))
        self.assertIn("exclude each other",
                      usage("--master-key", master_key, "--allow-any-worker",
                            "--authorized-workers", authorized))
        self.assertIn("need --worker-key FILE",
                      usage("--master-key", master_key, "--authorized-workers",
                            authorized, "--processes", 1))
        public = os.path.join(authorized, "worker.key")
        self.assertIn("--master-key: %s: has no secret key" % public,
                      usage("--master-key", public, "--allow-any-worker",
                            "--expect-workers", 1))
        self.assertIn("--authorized-workers: /nonexistent: cannot read",
                      usage("--master-key", master_key,
                            "--authorized-workers", "/nonexistent",
                            "--expect-workers", 1))
        # Keys are never overwritten.
        p = self.start([binary("apex-master"), "--gen-keys", keys], "again")
        self.assertEqual(p.wait(10), 2)
        self.assertIn("master.key: exists", p.stderr())
        # A worker's key without the master's.
        p = self.worker(1, "lonely", "--worker-key",
                        os.path.join(keys, "worker.key_secret"))
        self.assertEqual(p.wait(10), 2)
        self.assertIn("--worker-key needs --master-public-key", p.stderr())
        p = self.worker(1, "badkey", "--master-public-key", "x" * 39 + "\"")
        self.assertEqual(p.wait(10), 2)
        self.assertIn("--master-public-key: ", p.stderr())
