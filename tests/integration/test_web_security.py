"""The web UI's security, against real apex-masters on 127.0.0.1:

- TLS (--tls-cert/--tls-key) with a CA the test makes with openssl: curl
  with the CA succeeds, without it fails, plain HTTP fails; the headless
  --metrics server too;
- basic auth: the wrong password, none, or the right one with a NUL and
  more after it get 401 on every route; --web-auth-file; --web-auth not
  in /proc/PID/cmdline once read (finding 15);
- no wildcard CORS, and another site's page cannot start, stop or reset
  a test, while the UI's own requests and non-browser clients (Locust's
  GET /stop) still can (finding 10);
- idle connections from one address cannot lock the UI out, and are
  closed after a short idle time (finding 8).
"""
import base64
import http.client as httpclient
import json
import os
import socket
import ssl
import subprocess

from apexlib import SIMPLE, binary, free_port, http, wait_for
from test_run import RunCase, write_scenario

USER, PASSWORD = "ops", "w3b-pa55word"
ROUTES = [("GET", "/"), ("GET", "/app.js"), ("GET", "/stats/requests"),
          ("GET", "/metrics"), ("GET", "/config"), ("GET", "/exceptions"),
          ("GET", "/stats/requests/csv"), ("GET", "/report"),
          ("GET", "/nowhere"), ("POST", "/swarm"), ("POST", "/stop"),
          ("GET", "/stop"), ("POST", "/stats/reset")]


def openssl(*args, cwd):
    res = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True,
                         text=True, timeout=60)
    if res.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), res.stderr))


def make_ca(folder):
    """A CA and a server certificate for 127.0.0.1 signed by it."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=apex test CA", cwd=folder)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj",
            "/CN=127.0.0.1", cwd=folder)
    with open(os.path.join(folder, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
            "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2",
            "-extfile", "ext.cnf", cwd=folder)
    return {name: os.path.join(folder, name)
            for name in ("ca.pem", "server.pem", "server.key")}


def curl(url, *args):
    """curl's HTTP status ("000" when there was no HTTP answer) and exit
    code."""
    res = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w",
                          "%{http_code}", "--max-time", "10", *args, url],
                         capture_output=True, text=True, timeout=30)
    return res.stdout.strip(), res.returncode


def basic(credentials):
    return "Basic " + base64.b64encode(credentials).decode()


class WebSecurityTest(RunCase):
    def ui(self, *extra, headless=False, env=None):
        """An apex-master with the UI (or headless --metrics) on
        127.0.0.1 and one worker; returns (process, web port)."""
        web = free_port()
        port = free_port()
        scn = write_scenario(self.dir, SIMPLE)
        args = [binary("apex-master"), "-f", scn, "--master-bind-port",
                port, "--web-host", "127.0.0.1", "--web-port", web,
                "--host", self.target(), *extra]
        if headless:
            args += ["--headless", "--metrics", "--expect-workers", 1]
        m = self.start(args, "master", env=env)
        self.worker(port, "worker")
        wait_for(lambda: "Starting " in m.stderr() or not m.running(), 10,
                 what="the web server")
        self.assertTrue(m.running(), m.stderr())
        return m, web

    def request(self, web, method, path, headers=None, tls_ca=None,
                body=None):
        """(status, headers, body) of one request, over TLS when tls_ca
        (the CA file) is given."""
        if tls_ca:
            ctx = ssl.create_default_context(cafile=tls_ca)
            conn = httpclient.HTTPSConnection("127.0.0.1", web, context=ctx,
                                               timeout=10)
        else:
            conn = httpclient.HTTPConnection("127.0.0.1", web, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def test_tls_auth_file_and_every_route_guarded(self):
        certs = make_ca(self.dir)
        pwfile = os.path.join(self.dir, "web-auth")
        with open(pwfile, "w") as f:
            f.write("%s:%s\n" % (USER, PASSWORD))
        os.chmod(pwfile, 0o600)
        m, web = self.ui("--tls-cert", certs["server.pem"], "--tls-key",
                         certs["server.key"], "--web-auth-file", pwfile)
        self.assertIn("Starting web interface at https://127.0.0.1:%d"
                      % web, m.stderr())
        url = "https://127.0.0.1:%d/stats/requests" % web
        # curl with the test's CA and the password: 200.
        self.assertEqual(curl(url, "--cacert", certs["ca.pem"], "-u",
                              "%s:%s" % (USER, PASSWORD)), ("200", 0))
        # Without the CA, curl does not trust the certificate (60).
        status, code = curl(url, "-u", "%s:%s" % (USER, PASSWORD))
        self.assertEqual((status, code), ("000", 60))
        # Plain HTTP to the TLS port gets no HTTP answer.
        status, code = curl("http://127.0.0.1:%d/stats/requests" % web, "-u",
                            "%s:%s" % (USER, PASSWORD))
        self.assertEqual(status, "000")
        self.assertNotEqual(code, 0)
        # 401 on every route: no password, a wrong one, the right one
        # with a NUL and more after it.
        ca = certs["ca.pem"]
        for creds in (None, b"%s:nope" % USER.encode(),
                      b"%s:%s\0junk" % (USER.encode(), PASSWORD.encode()),
                      b"%s:%s" % (USER.encode(), PASSWORD[:-1].encode())):
            for method, path in ROUTES:
                headers = {"Authorization": basic(creds)} if creds else {}
                status, hdrs, _ = self.request(web, method, path, headers,
                                               tls_ca=ca)
                self.assertEqual(status, 401, (creds, method, path))
                self.assertIn("Basic", hdrs.get("WWW-Authenticate", ""))
        good = {"Authorization": basic(b"%s:%s" % (USER.encode(),
                                                   PASSWORD.encode()))}
        status, hdrs, body = self.request(web, "GET", "/", good, tls_ca=ca)
        self.assertEqual(status, 200)
        self.assertNotIn("Access-Control-Allow-Origin", hdrs)
        self.assertEqual(hdrs.get("X-Frame-Options"), "DENY")
        self.assertNotIn(PASSWORD, m.stderr())

    def test_headless_metrics_tls_and_no_password_in_cmdline(self):
        certs = make_ca(self.dir)
        m, web = self.ui("--tls-cert", certs["server.pem"], "--tls-key",
                         certs["server.key"], "--web-auth",
                         "%s:%s" % (USER, PASSWORD), headless=True)
        with open("/proc/%d/cmdline" % m.pid, "rb") as f:
            cmdline = f.read()
        self.assertIn(b"--web-auth", cmdline)
        self.assertNotIn(PASSWORD.encode(), cmdline)
        self.assertNotIn(USER.encode() + b":", cmdline)
        good = {"Authorization": basic(("%s:%s" % (USER, PASSWORD))
                                       .encode())}
        status, _, body = self.request(web, "GET", "/metrics", good,
                                       tls_ca=certs["ca.pem"])
        self.assertEqual(status, 200)
        self.assertIn(b"apex_workers_refused_total", body)
        self.assertEqual(self.request(web, "GET", "/metrics", {},
                                      tls_ca=certs["ca.pem"])[0], 401)
        # Usage errors: one without the other; a file that is missing.
        for args, text in ((["--tls-cert", certs["server.pem"]],
                            "--tls-cert and --tls-key go together"),
                           (["--tls-cert", os.path.join(self.dir, "ca.key"), "--tls-key",
                             certs["server.key"]], "cannot serve the web UI"),
                           (["--web-auth-file", "/nonexistent"],
                            "--web-auth-file /nonexistent: cannot read"),
                           (["--web-auth", "a:b", "--web-auth-file",
                             certs["ca.pem"]], "exclude each other")):
            p, _ = self.master(write_scenario(self.dir, SIMPLE), *args,
                               "--metrics", "--expect-workers", 1,
                               name="usage")
            self.assertIn(p.wait(10), (2, 3))
            self.assertIn(text, p.stderr())
            self.procs.remove(p)

    def test_other_sites_cannot_change_the_test(self):
        m, web = self.ui()
        base = "http://127.0.0.1:%d" % web
        form = {"Content-Type": "application/x-www-form-urlencoded"}

        def state():
            return json.loads(self.request(web, "GET", "/stats/requests")[2]
                              )["state"]
        wait_for(lambda: json.loads(self.request(
            web, "GET", "/worker-count")[2])["worker_count"] == 1, 20,
            what="the worker")
        # A page of another site: Origin, or Sec-Fetch-Site on a GET.
        for method, path, headers in (
                ("POST", "/swarm", {"Origin": "http://evil.example"}),
                ("POST", "/swarm", {"Origin": "null"}),
                ("GET", "/stop", {"Sec-Fetch-Site": "cross-site"}),
                ("GET", "/stats/reset", {"Referer": "http://evil.example/"}),
                ("POST", "/stop", {"Origin": "http://127.0.0.1:%d" % (
                    web + 1)})):
            status, hdrs, body = self.request(
                web, method, path, dict(form, **headers),
                body="user_count=2&spawn_rate=2")
            self.assertEqual(status, 403, (method, path, headers))
            self.assertIn("refused", json.loads(body)["message"])
            self.assertNotIn("Access-Control-Allow-Origin", hdrs)
        self.assertEqual(state(), "ready")
        # The UI's own page (same origin) starts it.
        status, _, _ = self.request(
            web, "POST", "/swarm", dict(form, Origin=base,
                                        **{"Sec-Fetch-Site": "same-origin"}),
            body="user_count=2&spawn_rate=2")
        self.assertEqual(status, 200)
        wait_for(lambda: state() == "running", 20, what="running")
        # Locust's client: GET /stop with no browser header.
        status, _, data = http("GET", base + "/stop")
        self.assertEqual(status, 200, data)
        wait_for(lambda: state() == "stopped", 20, what="stopped")
        self.assertEqual(self.request(web, "POST", "/stats/reset")[0], 200)
        self.assertEqual(self.request(web, "HEAD", "/stop")[0], 405)

    def test_idle_connections_from_one_address(self):
        m, web = self.ui()
        # 100 idle connections from 127.0.0.2: at most 32 are kept.
        held = []
        for _ in range(100):
            s = socket.socket()
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", web))
            held.append(s)
        self.addCleanup(lambda: [s.close() for s in held])

        def closed(s):
            s.settimeout(0)
            try:
                return s.recv(1) == b""
            except BlockingIOError:
                return False
            except OSError:
                return True
        wait_for(lambda: sum(closed(s) for s in held) >= 100 - 32, 10,
                 what="connections over the per-address limit closed")
        # The UI still answers from another address.
        status, _, _ = self.request(web, "GET", "/stats/requests")
        self.assertEqual(status, 200)
        # And the idle ones are closed soon (10 s without a byte).
        wait_for(lambda: all(closed(s) for s in held), 30,
                 what="idle connections closed")
