#!/usr/bin/python3
"""Benchmarks of the Apex suite (make bench). Prints figures, asserts nothing.

1. Throughput: nginx (Debian nginx-light, one worker process, its own
   config on 127.0.0.1) serves a small fixed response. Interleaved over
   --rounds rounds: wrk -t1 -c50 -d10s, then apex-master --processes 1
   with 50 users and zero wait on the same URL for the same time, once
   with each HTTP engine (--engine http1, --engine curl). For each
   tool: requests/s and client CPU seconds (user+sys of the whole process
   tree, from getrusage of reaped children), and the median over rounds of
   apex/wrk in requests per client CPU-second.
   A bare libcurl client (bench/curl_loop.c, build/curl-loop) runs in the
   same rounds in two modes: "socket" (the multi socket interface on
   epoll, as apex-worker uses libcurl) and "perform" (curl_multi_perform
   + curl_multi_poll). apex/loop shows our own overhead over libcurl's.
   Debian's Locust (FastHttpUser, its fastest client, one process) runs in
   the same rounds for the ratio apex/locust.
2. Memory: RSS of one apex-worker holding N users (default 10000) that
   each keep an open connection and wait (constant_pacing, long period),
   minus the RSS at 100 users, per user, for each engine.
3. Master: apex-master's own CPU with --master-workers workers (16) each
   running 5 users with 100 ms waits, for one run of --seconds.
"""
import argparse
import csv
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NGINX_CONF = """
worker_processes 1;
worker_rlimit_nofile 40000;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;
events {{ worker_connections 30000; multi_accept on; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ default_type text/plain; return 200 "hello, apex\\n"; }}
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_measured(args, **kw):
    """Run args to completion; return (stdout, stderr, client CPU s)."""
    before = children_cpu()
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    cpu = children_cpu() - before
    if p.returncode not in (0, 1):
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit("bench: %s exited with %d" % (args[0], p.returncode))
    return p.stdout, p.stderr, cpu


def start_nginx(tmp):
    port = free_port()
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=tmp, port=port))
    proc = subprocess.Popen(["/usr/sbin/nginx", "-c", conf, "-p", tmp],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, "http://127.0.0.1:%d/" % port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("bench: nginx did not start: " + proc.stderr.read().decode())


def wrk_round(url, seconds, conns):
    out, _, cpu = run_measured(["wrk", "-t1", "-c%d" % conns,
                                "-d%ds" % seconds, url])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, cpu


def curl_loop_round(build, mode, url, seconds, conns):
    """The bare libcurl client (bench/curl_loop.c): (requests, CPU s)."""
    out, _, cpu = run_measured([os.path.join(build, "curl-loop"), mode, url,
                                str(conns), str(seconds)])
    return int(re.search(r"requests (\d+)", out).group(1)), cpu


def write_scenario(tmp, url, wait):
    path = os.path.join(tmp, "bench-%s.json" % wait["name"])
    doc = {"host": url.rstrip("/"),
           "users": [{"name": "BenchUser", "wait": wait["wait"],
                      "tasks": [{"request": {"path": "/"}}]}]}
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


ENGINES = ("http1", "curl")


def apex_round(build, tmp, scenario, seconds, users, engine):
    prefix = os.path.join(tmp, "apex")
    port = free_port()
    _, err, cpu = run_measured(
        [os.path.join(build, "apex-master"), "-f", scenario, "--headless",
         "-u", str(users), "-r", str(users), "-t", "%ds" % seconds,
         "--processes", "1", "--master-bind-port", str(port),
         "--only-summary", "--csv", prefix, "--loglevel", "WARNING",
         "--engine", engine])
    with open(prefix + "_stats.csv", newline="") as f:
        total = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"][0]
    return float(total["Requests/s"]), cpu, int(total["Request Count"])


LOCUSTFILE = """
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser


class BenchUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def root(self):
        self.client.get("/")
"""


def locust_round(tmp, url, seconds, users):
    """Debian's Locust, one process (FastHttpUser, its fastest client)."""
    lf = os.path.join(tmp, "bench_locustfile.py")
    with open(lf, "w") as f:
        f.write(LOCUSTFILE)
    prefix = os.path.join(tmp, "locust")
    _, _, cpu = run_measured(
        ["/usr/bin/locust", "-f", lf, "--headless", "-u", str(users), "-r",
         str(users), "-t", "%ds" % seconds, "--host", url.rstrip("/"),
         "--csv", prefix, "--only-summary", "--loglevel", "WARNING"])
    with open(prefix + "_stats.csv", newline="") as f:
        total = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"][0]
    return float(total["Requests/s"]), cpu, int(total["Request Count"])


def master_cpu(build, tmp, url, workers, seconds):
    """CPU of apex-master alone with many workers (light load each)."""
    scenario = write_scenario(tmp, url, {"name": "light",
                                         "wait": {"constant": 0.1}})
    port = free_port()
    master = subprocess.Popen(
        [os.path.join(build, "apex-master"), "-f", scenario, "--headless",
         "-u", str(workers * 5), "-r", str(workers * 5), "-t",
         "%ds" % seconds, "--expect-workers", str(workers),
         "--master-bind-port", str(port), "--only-summary", "--loglevel",
         "WARNING"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kids = [subprocess.Popen([os.path.join(build, "apex-worker"),
                              "--master-port", str(port), "--loglevel",
                              "WARNING"], stderr=subprocess.DEVNULL)
            for _ in range(workers)]
    _, _, usage = os.wait4(master.pid, 0)
    for k in kids:
        k.wait(30)
    return usage.ru_utime + usage.ru_stime


def rss_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def worker_rss(build, tmp, scenario, users, engine):
    """RSS of the apex-worker once `users` users are spawned and idle."""
    port = free_port()
    master = subprocess.Popen(
        [os.path.join(build, "apex-master"), "-f", scenario, "--headless",
         "-u", str(users), "-r", str(max(users // 5, 1)), "-t", "120s",
         "--processes", "1", "--master-bind-port", str(port),
         "--only-summary", "--engine", engine],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        log = ""
        while "All users spawned" not in log:
            if time.monotonic() > deadline or master.poll() is not None:
                raise SystemExit("bench: ramp to %d users failed" % users)
            line = master.stderr.readline()
            log += line
        time.sleep(3)  # let every first request finish and settle
        kids = subprocess.run(["pgrep", "-P", str(master.pid)],
                              capture_output=True, text=True).stdout.split()
        return rss_of(int(kids[0]))
    finally:
        master.send_signal(signal.SIGTERM)
        try:
            master.wait(30)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--idle-users", type=int, default=10000)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-locust", action="store_true")
    ap.add_argument("--master-workers", type=int, default=16)
    args = ap.parse_args()
    build = os.path.join(ROOT, args.build)
    tmp = tempfile.mkdtemp(prefix="apex-bench-")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    nginx, url = start_nginx(tmp)
    try:
        print("apex bench: nginx-light on %s, %d rounds of %d s, %d "
              "connections/users, 1 client thread/process"
              % (url, args.rounds, args.seconds, args.connections))
        scenario = write_scenario(tmp, url, {"name": "zero",
                                             "wait": {"constant": 0}})
        ratios = {e: [] for e in ENGINES}
        loop_ratios = {"socket": [], "perform": []}
        locust_ratios = []
        locust = not args.skip_locust and os.path.exists("/usr/bin/locust")
        per_cpu = {}
        for r in range(1, args.rounds + 1):
            wrps, wcpu = wrk_round(url, args.seconds, args.connections)
            wrk_per_cpu = wrps * args.seconds / wcpu
            print("round %d: wrk  %9.0f req/s  %5.2f CPU s  %8.0f req/CPU-s"
                  % (r, wrps, wcpu, wrps * args.seconds / wcpu))
            for engine in ENGINES:
                arps, acpu, n = apex_round(build, tmp, scenario,
                                           args.seconds, args.connections,
                                           engine)
                ratio = n / acpu / wrk_per_cpu
                ratios[engine].append(ratio)
                print("round %d: apex %-5s %9.0f req/s  %5.2f CPU s  %8.0f "
                      "req/CPU-s  (%d requests)  apex/wrk %.3f"
                      % (r, engine, arps, acpu, n / acpu, n, ratio))
                per_cpu[engine] = n / acpu
            apex_per_cpu = per_cpu["curl"]  # the libcurl comparisons
            for mode in ("socket", "perform"):
                ln, lcpu = curl_loop_round(build, mode, url, args.seconds,
                                           args.connections)
                loop_ratios[mode].append(apex_per_cpu / (ln / lcpu))
                print("round %d: bare libcurl loop (%-7s) %9.0f req/s  %5.2f "
                      "CPU s  %8.0f req/CPU-s  /wrk %.3f  apex/loop %.3f"
                      % (r, mode, ln / args.seconds, lcpu, ln / lcpu,
                         ln / lcpu / wrk_per_cpu, loop_ratios[mode][-1]))
            if locust:
                lrps, lcpu, ln = locust_round(tmp, url, args.seconds,
                                              args.connections)
                locust_ratios.append(per_cpu["http1"] / (ln / lcpu))
                print("round %d: locust %7.0f req/s  %5.2f CPU s  %8.0f "
                      "req/CPU-s  (FastHttpUser, one process)  apex "
                      "(http1)/locust %.1f  apex (curl)/locust %.1f"
                      % (r, lrps, lcpu, ln / lcpu, locust_ratios[-1],
                         apex_per_cpu / (ln / lcpu)))
        for engine, rs in ratios.items():
            print("median apex (%s)/wrk requests per client CPU-second: "
                  "%.3f" % (engine, statistics.median(rs)))
        for mode, rs in loop_ratios.items():
            print("median apex (curl)/bare libcurl loop (%s) requests per "
                  "client "
                  "CPU-second: %.3f" % (mode, statistics.median(rs)))
        if locust_ratios:
            print("median apex (http1)/locust requests per client "
                  "CPU-second: %.1f" % statistics.median(locust_ratios))
        if args.master_workers > 0:
            cpu = master_cpu(build, tmp, url, args.master_workers,
                             args.seconds)
            print("master: %.2f CPU s for a %d s run with %d workers "
                  "(%.1f %% of a core)" % (cpu, args.seconds,
                                           args.master_workers,
                                           100 * cpu / args.seconds))
        if not args.skip_memory:
            idle = write_scenario(tmp, url, {
                "name": "idle", "wait": {"constant_pacing": 600}})
            for engine in ENGINES:
                base = worker_rss(build, tmp, idle, 100, engine)
                full = worker_rss(build, tmp, idle, args.idle_users, engine)
                per = (full - base) / (args.idle_users - 100)
                print("memory (%s): apex-worker RSS %.1f MiB at 100 users, "
                      "%.1f MiB at %d users with open connections: %.2f KiB "
                      "per user" % (engine, base / 2**20, full / 2**20,
                                    args.idle_users, per / 1024))
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(10)
        except subprocess.TimeoutExpired:
            nginx.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
