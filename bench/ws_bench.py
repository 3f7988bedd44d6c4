#!/usr/bin/python3
"""WebSocket benchmark (make bench): one apex-worker holding N connections
to apex-target's /ws/echo, each sending one request a second, next to
artillery's WebSocket engine (npm, pinned in bench/package-lock.json)
doing the same, interleaved over --rounds rounds. Prints figures, asserts
nothing.

Per tool and round: connect time p50/p95/p99 (apex only: artillery 1.7's
ws engine opens the socket before any step and times nothing), message
latency p50/p95/p99 (send to the echoed reply carrying the same id),
messages, drops, client CPU seconds per message, and RSS per connection
(RSS while holding the connections minus RSS before the first one).

Each round talks to its own apex-target on another loopback address
(127.0.0.2, .3, ...), so the TIME_WAIT sockets of one round never exhaust
the ephemeral ports of the next.

Usage: bench/ws_bench.py [--build build] [--connections 10000]
                         [--seconds 60] [--rounds 3]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (free_port)

HERE = os.path.dirname(os.path.abspath(__file__))
ARTILLERY = os.path.join(HERE, "node_modules", "artillery", "bin",
                         "artillery")
SPAWN_RATE = 1000  # connections opened per second by both tools

PROCESSOR = """
// Send a JSON message with a fresh id; the echo with the same id ends it.
let next = 0;
function echo(context, events, done) {
  const id = process.pid + '-' + (next++);
  const t0 = process.hrtime.bigint();
  const onMessage = (data) => {
    let m;
    try { m = JSON.parse(data); } catch (e) { return; }
    if (m.id !== id) return;
    context.ws.removeListener('message', onMessage);
    events.emit('counter', 'msgs', 1);
    events.emit('histogram', 'msg_latency',
                Number(process.hrtime.bigint() - t0) / 1e6);
    done();
  };
  context.ws.on('message', onMessage);
  context.ws.send(JSON.stringify({id: id, type: 'echo'}));
}
module.exports = {echo: echo};
"""


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def proc_rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu_s(pid):
    """user+sys seconds of a running process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_target(build, tmp, addr):
    port = bench.free_port()
    log = open(os.path.join(tmp, "target-%s.log" % addr), "w")
    p = subprocess.Popen([os.path.join(build, "apex-target"), "--bind", addr,
                          "--port", str(port)], stdout=log, stderr=log,
                         preexec_fn=raise_nofile)
    url = "http://%s:%d/health" % (addr, port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return p, port
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise SystemExit("ws_bench: apex-target did not start on " + addr)


def apex_round(args, tmp, addr, port, n):
    scenario = os.path.join(tmp, "ws-apex.json")
    with open(scenario, "w") as f:
        json.dump({"users": [{
            "name": "Echo", "wait": {"constant_pacing": 1},
            "on_start": [{"ws": "connect", "timeout": 30,
                          "url": "ws://%s:%d/ws/echo" % (addr, port)}],
            "tasks": [{"ws": "request", "name": "echo", "timeout": 30,
                       "json": {"id": "${uuid()}", "type": "echo"},
                       "correlate": "$.id"}]}]}, f)
    mport = bench.free_port()
    report = os.path.join(tmp, "apex-%d.json" % n)
    ramp = args.connections / SPAWN_RATE
    master = subprocess.Popen(
        [os.path.join(args.build, "apex-master"), "-f", scenario,
         "--headless", "-u", str(args.connections), "-r", str(SPAWN_RATE),
         "-t", "%ds" % (args.seconds + ramp), "--expect-workers", "1",
         "--master-bind-port", str(mport), "--only-summary", "--json-file",
         report, "--loglevel", "WARNING"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=raise_nofile)
    worker = subprocess.Popen(
        [os.path.join(args.build, "apex-worker"), "--master-port",
         str(mport), "--loglevel", "WARNING"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=raise_nofile)
    time.sleep(0.5)
    idle_kib = proc_rss_kib(worker.pid)
    cpu0 = proc_cpu_s(worker.pid)
    time.sleep(ramp + args.seconds / 2)
    held_kib = proc_rss_kib(worker.pid)
    cpu1 = proc_cpu_s(worker.pid)
    master.wait(timeout=args.seconds + ramp + 120)
    worker.wait(timeout=60)
    doc = json.load(open(report))
    rows = {e["name"]: e for e in doc["entries"]}
    fig = doc["figures"]["counters"]
    peak = doc["figures"]["peaks"].get("ws_connections", 0)
    return {
        "connect": [rows["connect /ws/echo"]["percentiles_ms"][k]
                    for k in ("50", "95", "99")],
        "latency": [rows["echo"]["percentiles_ms"][k]
                    for k in ("50", "95", "99")],
        "messages": rows["echo"]["requests"],
        "failures": rows["echo"]["failures"],
        "drops": fig.get("ws_drops", 0),
        "peak": peak,
        "cpu_us_per_msg": (cpu1 - cpu0) * 1e6 /
        max(1, rows["echo"]["requests"] * (ramp + args.seconds / 2) /
            (args.seconds + ramp)),
        "kib_per_conn": (held_kib - idle_kib) / max(1, peak),
    }


def artillery_round(args, tmp, addr, port, n):
    proc_js = os.path.join(tmp, "ws_processor.js")
    with open(proc_js, "w") as f:
        f.write(PROCESSOR)
    yml = os.path.join(tmp, "ws-artillery.yml")
    ramp = args.connections / SPAWN_RATE
    with open(yml, "w") as f:
        f.write("config:\n  target: 'ws://%s:%d/ws/echo'\n"
                "  processor: '%s'\n  phases:\n"
                "    - duration: %d\n      arrivalRate: %d\n"
                "scenarios:\n  - engine: ws\n    flow:\n      - loop:\n"
                "          - function: 'echo'\n          - think: 1\n"
                "        count: %d\n"
                % (addr, port, proc_js, ramp, SPAWN_RATE, args.seconds))
    report = os.path.join(tmp, "artillery-%d.json" % n)
    env = dict(os.environ, ARTILLERY_DISABLE_TELEMETRY="true",
               NO_UPDATE_NOTIFIER="1", CI="true")
    p = subprocess.Popen(["node", ARTILLERY, "run", "-q", "-o", report, yml],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=env, preexec_fn=raise_nofile)
    time.sleep(0.5)
    idle_kib = proc_rss_kib(p.pid)
    cpu0 = proc_cpu_s(p.pid)
    time.sleep(ramp + args.seconds / 2)
    held_kib = proc_rss_kib(p.pid)
    cpu1 = proc_cpu_s(p.pid)
    p.wait(timeout=args.seconds * 4 + 120)
    agg = json.load(open(report))["aggregate"]
    lat = agg.get("customStats", {}).get("msg_latency", {})
    msgs = agg.get("counters", {}).get("msgs", 0)
    return {
        "connect": [None, None, None],
        "latency": [lat.get("median"), lat.get("p95"), lat.get("p99")],
        "messages": msgs,
        "failures": sum(agg.get("errors", {}).values()),
        "drops": sum(agg.get("errors", {}).values()),
        "peak": args.connections,
        "cpu_us_per_msg": (cpu1 - cpu0) * 1e6 /
        max(1, msgs * (ramp + args.seconds / 2) / (args.seconds + ramp)),
        "kib_per_conn": (held_kib - idle_kib) / args.connections,
    }


def fmt(v):
    return "-" if v is None else ("%.3g" % v)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not os.path.exists(ARTILLERY):
        subprocess.run(["npm", "ci", "--prefix", HERE, "--no-audit",
                        "--no-fund", "--ignore-scripts"], check=True)
    results = {"apex": [], "artillery": []}
    with tempfile.TemporaryDirectory(prefix="apex-ws-bench-") as tmp:
        for r in range(args.rounds):
            for i, (name, fn) in enumerate((("apex", apex_round),
                                             ("artillery", artillery_round))):
                addr = "127.0.0.%d" % (2 + 2 * r + i)
                target, port = start_target(args.build, tmp, addr)
                try:
                    res = fn(args, tmp, addr, port, r)
                finally:
                    target.terminate()
                    target.wait(timeout=30)
                results[name].append(res)
                print("round %d %-9s connect p50/95/99 %s/%s/%s ms, latency "
                      "p50/95/99 %s/%s/%s ms, %d messages, %d failures, "
                      "%d drops, peak %d, %.1f us CPU/message, %.1f KiB/"
                      "connection" % ((r + 1, name) + tuple(
                          fmt(v) for v in res["connect"] + res["latency"]) +
                          (res["messages"], res["failures"], res["drops"],
                           res["peak"], res["cpu_us_per_msg"],
                           res["kib_per_conn"])), flush=True)
    for name, rows in results.items():
        med = lambda key, i=None: statistics.median(
            [r[key][i] if i is not None else r[key] for r in rows
             if (r[key][i] if i is not None else r[key]) is not None] or [0])
        print("median %-9s latency p50/95/99 %.3g/%.3g/%.3g ms, %.1f us CPU/"
              "message, %.1f KiB/connection" %
              (name, med("latency", 0), med("latency", 1), med("latency", 2),
               med("cpu_us_per_msg"), med("kib_per_conn")))


if __name__ == "__main__":
    main()
