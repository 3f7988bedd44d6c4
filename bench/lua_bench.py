#!/usr/bin/python3
"""Scripted users' benchmarks (make bench). Prints figures, asserts nothing.

Against nginx-light on loopback (one worker process; "/" answers 12 bytes
of text, "/json" a 1.6 KB JSON document), one apex-worker process (or one
Locust process), 50 users with no wait, --seconds per run, --rounds
interleaved rounds, requests per client CPU-second (user + system of the
whole process tree: master and worker, as bench.py counts):

1. Plain GETs: the JSON user (a one-step task), the same user as a Lua
   script (self:get("/")), and Debian's Locust FastHttpUser with the same
   flow. Ratios lua/json (goal >= 0.8) and lua/locust (goal >= 3).
2. Lua 5.4 against LuaJIT: the scripted GET user, and a script doing JSON
   work per request (r:json(), a loop over the items, apex.json.encode of
   a derived table), run by the default build (liblua5.4) and by a LuaJIT
   one (make LUA=luajit BUILD=build-luajit).
3. Memory: RSS of one apex-worker with --idle-users scripted users that
   each made one request and wait (constant_pacing 600 s), minus its RSS
   at 100 users, per user.
"""
import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (same folder: nginx, runs, RSS)

ROOT = bench.ROOT

ITEMS = [{"id": i, "name": "item-%d" % i, "price": 10 + i * 0.25,
          "tags": ["a", "b"], "stock": i % 7} for i in range(20)]
JSON_BODY = json.dumps({"items": ITEMS, "total": len(ITEMS)})

NGINX_CONF = bench.NGINX_CONF.replace(
    'location / {',
    "location /json {{ default_type application/json; return 200 '%s'; }}\n"
    "        location / {" % JSON_BODY.replace("{", "{{").replace("}", "}}"))

GET_LUA = """
local U = apex.user{wait_time = apex.constant(0)}
U:task("get", 1, function(self) self:get("/") end)
return U
"""

JSON_LUA = """
local U = apex.user{wait_time = apex.constant(0)}
U:task("json", 1, function(self)
  local doc = self:get("/json"):json()
  local sum, names = 0, {}
  for i, item in ipairs(doc.items) do
    sum = sum + item.price * item.stock
    names[i] = item.name:upper()
  end
  local out = apex.json.encode({sum = sum, names = names, n = #doc.items})
  if #out == 0 then error("empty") end
end)
return U
"""

IDLE_LUA = """
local U = apex.user{wait_time = apex.constant_pacing(600)}
U:task("once", 1, function(self) self:get("/") end)
return U
"""


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def scenario(tmp, url, name, script=None, path="/"):
    if script:
        write(tmp, name + ".lua", script)
        user = {"name": "BenchUser", "script": name + ".lua"}
    else:
        user = {"name": "BenchUser", "wait": {"constant": 0},
                "tasks": [{"request": {"path": path}}]}
    return write(tmp, name + ".json",
                 json.dumps({"host": url.rstrip("/"), "users": [user]}))


def start_nginx(tmp):
    saved = bench.NGINX_CONF
    bench.NGINX_CONF = NGINX_CONF
    try:
        return bench.start_nginx(tmp)
    finally:
        bench.NGINX_CONF = saved


def per_cpu(run):
    _, cpu, n = run
    return n / cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--luajit-build", default="build-luajit")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--idle-users", type=int, default=10000)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-locust", action="store_true")
    args = ap.parse_args()
    build = os.path.join(ROOT, args.build)
    jit = os.path.join(ROOT, args.luajit_build)
    has_jit = os.path.exists(os.path.join(jit, "apex-master"))
    tmp = tempfile.mkdtemp(prefix="apex-lua-bench-")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    nginx, url = start_nginx(tmp)
    locust = not args.skip_locust and os.path.exists("/usr/bin/locust")
    s_json = scenario(tmp, url, "json_get")
    s_lua = scenario(tmp, url, "lua_get", GET_LUA)
    s_work = scenario(tmp, url, "lua_json", JSON_LUA)
    runs = {}

    def run(label, fn):
        result = fn()
        runs.setdefault(label, []).append(per_cpu(result))
        print("round %d: %-28s %9.0f req/s  %5.2f CPU s  %8.0f req/CPU-s"
              % (r, label, result[0], result[1], per_cpu(result)))
        sys.stdout.flush()

    try:
        print("apex lua bench: nginx-light on %s, %d rounds of %d s, %d "
              "users, load average %s" % (url, args.rounds, args.seconds,
                                           args.users,
                                           open("/proc/loadavg").read()
                                           .split()[0]))
        for r in range(1, args.rounds + 1):
            run("json user GET", lambda: bench.apex_round(
                build, tmp, s_json, args.seconds, args.users))
            run("lua 5.4 user GET", lambda: bench.apex_round(
                build, tmp, s_lua, args.seconds, args.users))
            if locust:
                run("locust FastHttpUser GET", lambda: bench.locust_round(
                    tmp, url, args.seconds, args.users))
            run("lua 5.4 JSON work", lambda: bench.apex_round(
                build, tmp, s_work, args.seconds, args.users))
            if has_jit:
                run("luajit user GET", lambda: bench.apex_round(
                    jit, tmp, s_lua, args.seconds, args.users))
                run("luajit JSON work", lambda: bench.apex_round(
                    jit, tmp, s_work, args.seconds, args.users))
        med = {k: statistics.median(v) for k, v in runs.items()}
        for k, v in med.items():
            print("median %-28s %8.0f req/CPU-s" % (k, v))

        def ratio(a, b):
            """The median over rounds of a's figure over b's."""
            return statistics.median(x / y for x, y in zip(runs[a], runs[b]))
        print("median lua/json (plain GETs): %.3f (goal >= 0.8)"
              % ratio("lua 5.4 user GET", "json user GET"))
        if locust:
            print("median lua/locust (plain GETs): %.1f (goal >= 3)"
                  % ratio("lua 5.4 user GET", "locust FastHttpUser GET"))
        if has_jit:
            print("median luajit/lua 5.4: GETs %.3f, JSON work %.3f"
                  % (ratio("luajit user GET", "lua 5.4 user GET"),
                     ratio("luajit JSON work", "lua 5.4 JSON work")))
        if not args.skip_memory:
            idle = scenario(tmp, url, "lua_idle", IDLE_LUA)
            base = bench.worker_rss(build, tmp, idle, 100)
            full = bench.worker_rss(build, tmp, idle, args.idle_users)
            per = (full - base) / (args.idle_users - 100)
            print("memory: scripted users: apex-worker RSS %.1f MiB at 100, "
                  "%.1f MiB at %d: %.1f KiB per idle scripted user"
                  % (base / 2**20, full / 2**20, args.idle_users,
                     per / 1024))
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(10)
        except subprocess.TimeoutExpired:
            nginx.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
