"""TLS and HTTP options of HTTP steps (common/scenario_http_opts.c run by
worker/http_curl.c) against nginx serving TLS and HTTP/2 with a
certificate authority this test makes (openssl), and through a real
forward proxy (Debian's tinyproxy, started with its own configuration on
127.0.0.1): verification failure, insecure, a CA bundle, a client
certificate nginx requires, HTTP/2 seen in nginx's log, an explicit
proxy and the environment's (http_proxy, NO_PROXY), and `auto` taking
libcurl for all of these; compression, basic auth and a connect timeout
on both engines where both run them; and the same options given on
apex-master's command line (--ca-bundle, --proxy, --http-auth,
--compression, --connect-timeout), which a class's or step's own beat,
and which a scripted (Lua) user's requests take too."""
import os
import socket
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
        # --ca-bundle on the command line: "verify" now passes; "nocert"
        # still has no client certificate.
        m, _ = self.master(scn, "-u", len(classes), "-r", len(classes),
                           "-t", "2s", "--processes", 1, "--csv", prefix,
                           "--ca-bundle", ca, env={"APEX_ENGINE": None},
                           name="master-cli")
        self.assertEqual(m.wait(40), 1, m.stderr())
        rows = {r["Name"]: r for r in read_csv(prefix + "_stats.csv")}
        self.assertGreater(int(rows["verify"]["Request Count"]), 0)
        self.assertEqual({r["Name"] for r in read_csv(prefix +
                                                      "_failures.csv")},
                         {"nocert"})

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
        # --proxy on the command line, no environment: "Env" goes through
        # it, "None" keeps its step's "proxy": "".
        env.update({"http_proxy": None, "NO_PROXY": None})
        none = self.proxied(log, "/none")
        m, _ = self.master(scn, "-u", 3, "-r", 3, "-t", "1s", "--processes",
                           1, "--host", host, "--proxy",
                           "http://127.0.0.1:%d" % pport, env=env,
                           name="master3")
        self.assertEqual(m.wait(40), 0, m.stderr())
        self.assertGreater(self.proxied(log, "/env"), before)
        self.assertEqual(self.proxied(log, "/none"), none)


BODY = "apex " * 400  # gzip makes it small: nginx compresses it


class OptionsTest(RunCase):
    """compression, basic auth and connect_timeout in the scenario on
    both engines (compression is libcurl's), then the same from the
    command line."""

    def setUp(self):
        super().setUp()
        with open(os.path.join(self.dir, "htpasswd"), "w") as f:
            f.write("apex:{PLAIN}s3cret\n")
        self.port = nginx_peer.start_nginx(self, """
            server {
                listen 127.0.0.1:{port};
                location = /auth {  # a file: "return" would skip auth
                    auth_basic "apex";
                    auth_basic_user_file {dir}/htpasswd;
                    default_type text/plain;
                    alias {dir}/htpasswd;
                }
                location /gzip {
                    gzip on; gzip_min_length 1; gzip_types text/plain;
                    default_type text/plain;
                    if ($http_accept_encoding !~ gzip) { return 403; }
                    return 200 "%s";
                }
            }""" % BODY)
        # A listener whose queue is full: connecting to it hangs (the
        # kernel drops the SYNs), so only a connect timeout ends it.
        self.hole = socket.socket()
        self.hole.bind(("127.0.0.1", 0))
        self.hole.listen(0)
        self.filler = socket.create_connection(self.hole.getsockname())
        self.addCleanup(self.hole.close)
        self.addCleanup(self.filler.close)

    def run_classes(self, classes, *extra):
        scn = write_scenario(self.dir, {"users": classes})
        prefix = os.path.join(self.dir, "run")
        m, _ = self.master(scn, "-u", len(classes), "-r", len(classes),
                           "-t", "2s", "--processes", 1, "--csv", prefix,
                           "--host", "http://127.0.0.1:%d" % self.port,
                           *extra, env={"APEX_ENGINE": None})
        self.assertEqual(m.wait(40), 1, m.stderr())  # failures: exit 1
        rows = {r["Name"]: r for r in read_csv(prefix + "_stats.csv")}
        errors = {(r["Name"], r["Error"])
                  for r in read_csv(prefix + "_failures.csv")}
        for name, row in rows.items():
            if name != "Aggregated":
                self.assertGreater(int(row["Request Count"]), 0, name)
        return rows, errors

    def task(self, name, path, http=None, engine=None, **more):
        step = {"name": name, "path": path, **more}
        if path == "/gzip":
            step["check"] = {"decoded": {"regex": "(apex ){400}"}}
        if http:
            step["http"] = http
        cls = {"name": name, "wait": {"constant": 0.2},
               "tasks": [{"request": step}]}
        if engine:
            cls["engine"] = engine
        return cls

    def test_compression_basic_auth_and_connect_timeout(self):
        hole = "http://127.0.0.1:%d/hole" % self.hole.getsockname()[1]
        auth = {"auth": ["apex", "s3cret"]}
        ct = {"connect_timeout": 0.5}
        rows, errors = self.run_classes([
            self.task("noauth", "/auth"),
            self.task("auth_h1", "/auth", auth, "http1"),
            self.task("auth_curl", "/auth", auth, "curl"),
            self.task("plain", "/gzip", engine="curl"),
            self.task("gzip", "/gzip", {"compression": True}),
            self.task("ct_h1", hole, ct, "http1", timeout=30),
            self.task("ct_curl", hole, ct, "curl", timeout=30)])
        self.assertEqual(errors, {
            ("noauth", "HTTPError('401 Client Error: Unauthorized for url: "
                       "noauth')"),
            ("plain", "HTTPError('403 Client Error: Forbidden for url: "
                      "plain')"),
            ("ct_h1", "Timeout('connect timed out after 0.5 s')"),
            ("ct_curl", "Timeout('connect timed out after 0.5 s')")})
        self.assertEqual(int(rows["gzip"]["Failure Count"]), 0)
        # The size counted is the decoded body's, as Locust counts it.
        self.assertEqual(float(rows["gzip"]["Average Content Size"]),
                         len(BODY))

    def test_the_same_options_on_the_command_line(self):
        hole = "http://127.0.0.1:%d/hole" % self.hole.getsockname()[1]
        # A scripted user's requests take the document's options too.
        with open(os.path.join(self.dir, "auth.lua"), "w") as f:
            f.write('local U = apex.user{wait_time = apex.constant(0.2)}\n'
                    'U:task("auth", 1, function(self)\n'
                    '  self:get("/auth", {name = "lua_auth"})\n'
                    'end)\nreturn U\n')
        rows, errors = self.run_classes([
            {"name": "Lua", "script": "auth.lua"},
            self.task("auth", "/auth"),
            self.task("wrong", "/auth", {"auth": ["apex", "wrong"]}),
            self.task("gzip", "/gzip"),
            self.task("ct", hole, timeout=30)],
            "--http-auth", "apex:s3cret", "--compression",
            "--connect-timeout", "0.5")
        self.assertEqual(errors, {
            ("wrong", "HTTPError('401 Client Error: Unauthorized for url: "
                      "wrong')"),
            ("ct", "Timeout('connect timed out after 0.5 s')")})
        for name in ("auth", "gzip", "lua_auth"):
            self.assertEqual(int(rows[name]["Failure Count"]), 0, name)


if __name__ == "__main__":
    unittest.main()
