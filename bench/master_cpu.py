#!/usr/bin/python3
"""apex-master's own CPU with many real apex-worker processes.

    bench/master_cpu.py [--build build] [--workers 500] [--seconds 30]
                        [--users-per-worker 1] [--wait 1]

Starts apex-target and apex-master --expect-workers N on 127.0.0.1, then
N apex-worker processes; once every user is spawned it reads the master's
CPU time from /proc/PID/stat over --seconds of steady running (the
heartbeats, stats reports and their merging, the console and CSV work)
and prints it as a percentage of one core. Not a test: it prints figures.
Needs about 10 MB of memory per worker."""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def wait_line(path, needle, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, errors="replace") as f:
            if needle in f.read():
                return True
        time.sleep(0.2)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--workers", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--users-per-worker", type=int, default=1)
    ap.add_argument("--wait", type=float, default=1.0)
    args = ap.parse_args()
    build = os.path.join(ROOT, args.build)
    tmp = tempfile.mkdtemp(prefix="apex-master-cpu-")
    tport, mport = free_port(), free_port()
    target = subprocess.Popen([os.path.join(build, "apex-target"), "--port",
                               str(tport)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    scenario = os.path.join(tmp, "s.json")
    with open(scenario, "w") as f:
        json.dump({"users": [{"name": "light",
                              "wait": {"constant": args.wait},
                              "tasks": [{"path": "/health"}]}]}, f)
    users = args.workers * args.users_per_worker
    log = os.path.join(tmp, "master.err")
    master = subprocess.Popen(
        [os.path.join(build, "apex-master"), "-f", scenario, "--headless",
         "-u", str(users), "-r", str(users), "--expect-workers",
         str(args.workers), "--master-bind-port", str(mport),
         "--host", "http://127.0.0.1:%d" % tport, "--only-summary"],
        stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    kids = []
    try:
        for _ in range(args.workers):
            kids.append(subprocess.Popen(
                [os.path.join(build, "apex-worker"), "--master-port",
                 str(mport), "--loglevel", "WARNING"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if not wait_line(log, "All users spawned", 300):
            sys.exit("the users were not all spawned; see " + log)
        time.sleep(5)  # the first reports after the ramp
        c0, t0 = cpu_seconds(master.pid), time.monotonic()
        time.sleep(args.seconds)
        c1, t1 = cpu_seconds(master.pid), time.monotonic()
        pct = 100 * (c1 - c0) / (t1 - t0)
        print("master CPU with %d workers, %d users (wait %.1f s): %.2f CPU "
              "s in %.1f s = %.2f %% of a core"
              % (args.workers, users, args.wait, c1 - c0, t1 - t0, pct))
        print("load average during the run: %s"
              % open("/proc/loadavg").read().strip())
    finally:
        master.terminate()
        try:
            master.wait(60)
        except subprocess.TimeoutExpired:
            master.kill()
        for k in kids:
            try:
                k.wait(30)
            except subprocess.TimeoutExpired:
                k.kill()
        target.terminate()
        target.wait()


if __name__ == "__main__":
    main()
