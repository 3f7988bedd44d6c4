#!/usr/bin/python3
"""50,000 users holding connections on one machine (make bench).

nginx (its own config on 127.0.0.1, as many worker processes as the
open-file limit needs, reuseport) listens on
--ports ports; the scenario has one user class per port whose step names
that port in an absolute URL, so the users spread evenly over them. A
client has at most about 28,000 ephemeral ports (Linux's default
net.ipv4.ip_local_port_range, 32768-60999) per destination address and
port: 4 ports leave room for 50,000 connections. apex-master --processes
N starts N local workers; every user makes one request, then waits
(constant_pacing 600 s) holding its keep-alive connection. The script
counts the connections nginx holds (ss, server side) once all users are
spawned, and the workers' RSS.

Usage: bench/conns.py [--build build] [--users 50000] [--ports 4]
                      [--processes 4] [--engine http1]
Prints the figures; asserts nothing.
"""
import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (free_port, rss_of)

NGINX_CONF = """
worker_processes {workers};
worker_rlimit_nofile {nofile};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;
events {{ worker_connections {conns}; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        {listens}
        location / {{ default_type text/plain; return 200 "ok\\n"; }}
    }}
}}
"""


def established(ports):
    """Connections nginx holds on these ports (server side)."""
    filt = " or ".join("sport = :%d" % p for p in ports)
    out = subprocess.run(["ss", "-Htn", "state", "established",
                          "( %s )" % filt], capture_output=True,
                         text=True, check=True).stdout
    return sum(1 for line in out.splitlines() if line.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--users", type=int, default=50000)
    ap.add_argument("--ports", type=int, default=4)
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--engine", default="http1")
    args = ap.parse_args()
    build = os.path.join(bench.ROOT, args.build)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp(prefix="apex-conns-")
    ports = [bench.free_port() for _ in range(args.ports)]
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        # One process may hold no more descriptors than the hard limit
        # (a container may not raise it): nginx gets enough workers, and
        # reuseport spreads the connections over them evenly.
        workers = max(1, -(-(args.users + 2000) // (hard - 1000)))
        f.write(NGINX_CONF.format(
            dir=tmp, nofile=hard, conns=hard - 500, workers=workers,
            listens="\n        ".join(
                "listen 127.0.0.1:%d backlog=8192 reuseport;" % p
                for p in ports)))
    nginx = subprocess.Popen(["/usr/sbin/nginx", "-c", conf, "-p", tmp],
                             stderr=subprocess.PIPE)
    scenario = os.path.join(tmp, "conns.json")
    with open(scenario, "w") as f:
        json.dump({"users": [
            {"name": "P%d" % i, "wait": {"constant_pacing": 600},
             "tasks": [{"request": {"name": "hold",
                                    "path": "http://127.0.0.1:%d/" % p}}]}
            for i, p in enumerate(ports)]}, f)
    master = None
    try:
        time.sleep(0.5)
        if nginx.poll() is not None:
            raise SystemExit("conns: nginx: " + nginx.stderr.read().decode())
        rate = 5000
        started = time.monotonic()
        master = subprocess.Popen(
            [os.path.join(build, "apex-master"), "-f", scenario,
             "--headless", "-u", str(args.users), "-r", str(rate), "-t",
             "600s", "--processes", str(args.processes),
             "--master-bind-port", str(bench.free_port()), "--only-summary",
             "--engine", args.engine, "--csv", os.path.join(tmp, "run")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        log = ""
        while "All users spawned" not in log:
            line = master.stderr.readline()
            if not line and master.poll() is not None:
                raise SystemExit("conns: the master ended: " + log[-2000:])
            log += line
        best, last_change, seen = 0, time.monotonic(), 0
        while time.monotonic() - last_change < 10 and seen < args.users:
            seen = established(ports)
            if seen > best:
                best, last_change = seen, time.monotonic()
            time.sleep(1)
        kids = subprocess.run(["pgrep", "-P", str(master.pid)],
                              capture_output=True,
                              text=True).stdout.split()
        rss = sum(bench.rss_of(int(k)) for k in kids)
        print("conns (%s): %d users over %d worker processes and %d nginx "
              "ports: nginx holds %d connections, %.0f s after the start; "
              "workers' RSS %.1f MiB in all (%.2f KiB per user)"
              % (args.engine, args.users, len(kids), args.ports, best,
                 time.monotonic() - started, rss / 2**20,
                 rss / args.users / 1024))
    finally:
        if master:
            master.send_signal(signal.SIGTERM)
            try:
                master.wait(60)
            except subprocess.TimeoutExpired:
                master.kill()
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(20)
        except subprocess.TimeoutExpired:
            nginx.kill()


if __name__ == "__main__":
    main()
