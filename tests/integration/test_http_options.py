"""TLS and HTTP options of HTTP steps (common/scenario_http_opts.c run by
worker/http_curl.c) against nginx serving TLS and HTTP/2 with a
certificate authority this test makes (openssl), and through a real
forward proxy (Debian's tinyproxy, started with its own configuration on
127.0.0.1): verification failure, insecure, a CA bundle, a client
certificate nginx requires, HTTP/2 seen in nginx's log, an explicit
proxy and the environment's (http_proxy, NO_PROXY), and `auto` taking
libcurl for all of these."""
import os
import subprocess
import unittest

from apexlib import free_port, read_csv, wait_for, write_scenario
import nginx_peer
from test_run import RunCase

VERIFY_FAILED = ("CurlError(60, 'SSL peer certificate or SSH remote key was "
                 "not OK')")


def _openssl(folder, *args):
    subprocess.run(["openssl", *args], cwd=folder, check=True,
                   capture_output=True)


def make_ca(folder):
    """ca.pem, server.pem/.key (127.0.0.1 and localhost), client.pem/.key,
    all signed by the CA."""
    _openssl(folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=apex test CA")
    with open(os.path.join(folder, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, ext in (("server", ["-extfile", "san.ext"]), ("client", [])):
        _openssl(folder, "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                 name + ".key", "-out", name + ".csr", "-subj",
                 "/CN=" + name)
        _openssl(folder, "x509", "-req", "-in", name + ".csr", "-CA",
                 "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
                 name + ".pem", "-days", "2", *ext)


class TlsTest(RunCase):
    def test_verify_insecure_ca_bundle_client_cert_and_http2(self):
        make_ca(self.dir)
        port = nginx_peer.start_nginx(self, """
            ssl_certificate {dir}/server.pem;
            ssl_certificate_key {dir}/server.key;
            server {
                listen 127.0.0.1:{port} ssl http2;
                location / { return 200 "tls ok"; }
            }
            server {
                listen 127.0.0.1:{port2} ssl;
                ssl_verify_client on;
                ssl_client_certificate {dir}/ca.pem;
                location / { return 200 "client ok"; }
            }""")
        port2 = self.nginx_port2
        ca = os.path.join(self.dir, "ca.pem")
        one = "https://127.0.0.1:%d" % port
        two = "https://127.0.0.1:%d" % port2

        def cls(name, path, http=None, base=one):
            step = {"name": name, "path": base + path}
            if http is not None:
                step["http"] = http
            return {"name": name, "wait": {"constant": 0.2},
                    "tasks": [{"request": step}]}
        classes = [
            cls("verify", "/verify"),
            cls("insecure", "/insecure", {"insecure": True}),
            cls("bundle", "/bundle", {"ca_bundle": ca}),
            # Its own host name: libcurl's pool, shared by the worker's
            # users, would give it the HTTP/1.1 connection of "bundle".
            cls("h2", "/h2", {"ca_bundle": ca, "http2": True},
                base="https://localhost:%d" % port),
            cls("nocert", "/nocert", {"ca_bundle": ca}, base=two),
            cls("cert", "/cert", {
                "ca_bundle": ca,
                "client_cert": os.path.join(self.dir, "client.pem"),
                "client_key": os.path.join(self.dir, "client.key")},
                base=two),
        ]
        scn = write_scenario(self.dir, {"users": classes})
        prefix = os.path.join(self.dir, "run")
        # The default engine (auto) must take libcurl for all of them.
        m, _ = self.master(scn, "-u", len(classes), "-r", len(classes),
                           "-t", "2s", "--processes", 1, "--csv", prefix,
                           env={"APEX_ENGINE": None})
        self.assertEqual(m.wait(40), 1, m.stderr())  # failures: exit 1
        rows = {r["Name"]: r for r in read_csv(prefix + "_stats.csv")}
        errors = {(r["Name"], r["Error"])
                  for r in read_csv(prefix + "_failures.csv")}
        for name in ("verify", "insecure", "bundle", "h2", "nocert", "cert"):
            self.assertGreater(int(rows[name]["Request Count"]), 0, name)
        self.assertEqual(errors, {
            ("verify", VERIFY_FAILED),
            ("nocert", "HTTPError('400 Client Error: Bad Request for url: "
                       "nocert')")})
        for name in ("verify", "nocert"):
            self.assertEqual(rows[name]["Failure Count"],
                             rows[name]["Request Count"])
        log = nginx_peer.access_log(self)
        protocols = {line[4]: line[0] for line in log}
        self.assertEqual(protocols["/h2"], "HTTP/2.0")
        for path in ("/insecure", "/bundle", "/cert"):
            self.assertEqual(protocols[path], "HTTP/1.1", path)
        self.assertNotIn("/verify", protocols)  # never got past TLS

    def test_http1_engine_refuses_what_it_cannot_run(self):
        scn = write_scenario(self.dir, {"users": [{
            "name": "U", "engine": "http1", "wait": {"constant": 0.2},
            "tasks": [{"request": {"name": "tls",
                                   "path": "https://127.0.0.1:1/x"}},
                      {"request": {"name": "h2", "path": "/y",
                                   "http": {"http2": True}}}]}]})
        prefix = os.path.join(self.dir, "run")
        m, _ = self.master(scn, "-u", 1, "-r", 1, "-t", "2s", "--processes",
                           1, "--csv", prefix, "--host",
                           "http://127.0.0.1:1")
        self.assertEqual(m.wait(40), 1, m.stderr())
        errors = {(r["Name"], r["Error"])
                  for r in read_csv(prefix + "_failures.csv")}
        self.assertEqual(errors, {
            ("tls", "EngineError('engine http1 runs plain http:// without a "
                    "proxy only: use engine curl or auto')"),
            ("h2", "EngineError('engine http1 cannot run a step that needs "
                   "HTTP/2: use engine curl or auto')")})


PROXY_CONF = """
Port {port}
Listen 127.0.0.1
Timeout 30
LogFile "{dir}/tinyproxy.log"
LogLevel Info
PidFile "{dir}/tinyproxy.pid"
MaxClients 50
Allow 127.0.0.1
"""


class ProxyTest(RunCase):
    def start_proxy(self):
        port = free_port()
        conf = os.path.join(self.dir, "tinyproxy.conf")
        with open(conf, "w") as f:
            f.write(PROXY_CONF.format(port=port, dir=self.dir))
        proxy = self.start(["/usr/bin/tinyproxy", "-d", "-c", conf],
                           "tinyproxy")
        log = os.path.join(self.dir, "tinyproxy.log")

        def up():
            if not proxy.running():
                raise AssertionError("tinyproxy exited: " + proxy.stderr())
            return os.path.exists(log) and "listening on" in open(log).read()
        wait_for(up, 10, what="tinyproxy to listen")
        return port, log

    def proxied(self, log, path):
        with open(log) as f:
            return sum(1 for line in f if "GET http://" in line and
                       path + " HTTP/1.1" in line)

    def test_explicit_and_environment_proxies(self):
        nginx = nginx_peer.start_nginx(self, """
            server {
                listen 127.0.0.1:{port};
                location / { return 200 "ok"; }
            }""")
        pport, log = self.start_proxy()
        host = "http://127.0.0.1:%d" % nginx
        scn = write_scenario(self.dir, {"users": [
            {"name": "Given", "wait": {"constant": 0.2}, "tasks": [
                {"request": {"path": "/given", "http": {
                    "proxy": "http://127.0.0.1:%d" % pport}}}]},
            {"name": "Env", "wait": {"constant": 0.2}, "tasks": [
                {"request": {"path": "/env"}}]},
            {"name": "None", "wait": {"constant": 0.2}, "tasks": [
                {"request": {"path": "/none", "http": {"proxy": ""}}}]}]})
        env = {"APEX_ENGINE": None, "http_proxy":
               "http://127.0.0.1:%d" % pport, "no_proxy": None,
               "NO_PROXY": None}
        prefix = os.path.join(self.dir, "run")
        m, _ = self.master(scn, "-u", 3, "-r", 3, "-t", "2s", "--processes",
                           1, "--host", host, "--csv", prefix, env=env)
        self.assertEqual(m.wait(40), 0, m.stderr())
        rows = {r["Name"]: r for r in read_csv(prefix + "_stats.csv")}
        for path in ("/given", "/env"):
            self.assertGreaterEqual(self.proxied(log, path),
                                    int(rows[path]["Request Count"]), path)
        self.assertGreater(int(rows["/none"]["Request Count"]), 0)
        self.assertEqual(self.proxied(log, "/none"), 0)
        # NO_PROXY names the host: the environment's proxy is not used.
        before = self.proxied(log, "/env")
        served = len([line for line in nginx_peer.access_log(self)
                      if line[4] == "/env"])
        env["NO_PROXY"] = "localhost,127.0.0.1"
        m, _ = self.master(scn, "-u", 3, "-r", 3, "-t", "1s", "--processes",
                           1, "--host", host, env=env, name="master2")
        self.assertEqual(m.wait(40), 0, m.stderr())
        self.assertEqual(self.proxied(log, "/env"), before)
        self.assertGreater(len([line for line in nginx_peer.access_log(self)
                                if line[4] == "/env"]), served)


if __name__ == "__main__":
    unittest.main()
