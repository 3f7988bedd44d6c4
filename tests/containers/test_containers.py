"""The image built from deploy/docker/Dockerfile, run for real with podman.

Started by tests/containers/run.sh (make test-containers), which
configures podman for this test only (CONTAINERS_CONF and friends, under
$APEX_CONTAINERS_CACHE), makes the base images and builds the image
$APEX_CONTAINER_IMAGE; run without it, every test skips and says so.

Every container shares the host's network and binds 127.0.0.1 on ports
chosen free for the test; each runs as the image's user with no
capabilities, no new privileges and a read-only root file system. Counts
are checked against what apex-target says it served (/stats).

1. The image: non-root user, HEALTHCHECK, OCI labels, no build tools or
   -dev packages, every library resolved, under 200 MB, and the
   programs' --version equal to the host build's (same git revision).
2. A headless run: apex-target, apex-master --expect-workers 2 and two
   apex-workers in four containers; the master's exit code, its CSV in a
   mounted folder, counts equal to the target's.
3. deploy/compose under podman-compose: docker-compose.yml with the
   headless override, adjusted for the host network by APEX_* variables
   only (tests/containers/compose.host.yml), two workers.
4. deploy/k8s (kustomize) and the Helm chart (helm template) rendered
   and run with `podman kube play`: the demo target, then the base and
   the chart's default (master with its web UI, three workers, the
   scenario ConfigMap), a run started through the web API, counts equal
   to the target's; the headless overlay's and the chart's headless
   Jobs, which podman refuses, played as the Pods a Job controller would
   make: the master's exit code and CSV. podman refuses Services and Jobs
   (asserted, so the README's list stays true).
"""
import json
import os
import shutil
import subprocess
import time
import urllib.request

import apexlib
from apexlib import (ROUTES, SIMPLE, binary, free_port, read_csv, wait_for,
                     write_scenario)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
IMAGE = os.environ.get("APEX_CONTAINER_IMAGE")
COMPOSE = os.path.join(ROOT, "deploy", "compose")
K8S = os.path.join(ROOT, "deploy", "k8s")
TOOLS = os.path.join(ROOT, os.environ.get("APEX_BUILD", "build"),
                     "deploy-tools", "bin")
KUBECTL = os.path.join(TOOLS, "kubectl")
HELM = os.path.join(TOOLS, "helm")
SIZE_GOAL = 200 * 1000 * 1000  # bytes, the README's promise
# How every container of ours runs: nothing it does needs a privilege.
LOCKED = ["--network", "host", "--cap-drop", "all", "--security-opt",
          "no-new-privileges", "--read-only"]


def podman(*args, timeout=120, check=True):
    res = subprocess.run(["podman", *[str(a) for a in args]],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, timeout=timeout,
                         stdin=subprocess.DEVNULL)
    if check and res.returncode != 0:
        raise AssertionError("podman %s: exit %d: %s" % (
            " ".join(map(str, args)), res.returncode, res.stderr[-2000:]))
    return res


def http_json(url, method="GET", body=None):
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read().decode())


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


class ContainerCase(apexlib.ProcCase):
    DIR_PREFIX = "containers-"

    def setUp(self):
        if not IMAGE:
            self.skipTest("run by make test-containers "
                          "(tests/containers/run.sh), which builds the image")
        super().setUp()
        self.tag = "apex-test-%d-%d" % (os.getpid(), int(time.time() * 1000)
                                        % 100000)
        self.names = []

    def tearDown(self):
        for name in reversed(self.names):
            podman("rm", "-f", "-t", 5, name, check=False, timeout=60)
        super().tearDown()

    def run_container(self, name, *args, volumes=()):
        """Start a detached container of the image; returns its name."""
        full = "%s-%s" % (self.tag, name)
        vols = []
        for v in volumes:
            vols += ["-v", v]
        podman("run", "-d", "--name", full, *LOCKED, *vols, IMAGE, *args)
        self.names.append(full)
        return full

    def logs(self, name):
        return podman("logs", name, check=False).stderr

    def wait_exit(self, name, timeout):
        res = podman("wait", name, timeout=timeout)
        return int(res.stdout.strip())

    def start_target(self, name="target"):
        port = free_port()
        t = self.run_container(name, "target", "--bind", "127.0.0.1",
                               "--port", port)
        base = "http://127.0.0.1:%d" % port
        wait_for(lambda: answers(base + "/health"), 30,
                 what="apex-target in its container (%s)" % self.logs(t))
        return t, base

    def reset_target(self, base):
        """Forget the health checks: only the run's requests count."""
        http_json(base + "/stats/reset", "POST", b"")

    def assert_counts_match(self, base, prefix):
        served = apexlib.target_stats(base)["requests"]
        total, rows = self.assert_routes_served(served, prefix)
        self.assertEqual(int(total["Failure Count"]), 0, rows)
        self.assertEqual(int(total["Request Count"]),
                         sum(served[k] for k in ROUTES.values()))
        self.assertGreater(int(total["Request Count"]), 0, rows)


class ImageTest(ContainerCase):
    def test_image_hygiene(self):
        info = json.loads(podman("image", "inspect", IMAGE).stdout)[0]
        cfg = info["Config"]
        self.assertEqual(cfg["User"], "10001:10001")
        self.assertEqual(cfg["Entrypoint"], ["/usr/local/bin/apex-entrypoint"])
        health = info.get("Healthcheck")
        self.assertTrue(health, "no HEALTHCHECK: %s" % cfg)
        self.assertIn("/usr/local/bin/apex-healthcheck", health["Test"])
        labels = info["Labels"]
        revision = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=ROOT, stdout=subprocess.PIPE, text=True).stdout.strip()
        self.assertEqual(labels["org.opencontainers.image.revision"],
                         revision)
        self.assertEqual(labels["org.opencontainers.image.version"], "0.1.0")
        self.assertIn("org.opencontainers.image.source", labels)
        self.assertLess(info["Size"], SIZE_GOAL,
                        "the image is %d bytes" % info["Size"])

        for prog in ("master", "worker", "target"):
            inside = podman("run", "--rm", *LOCKED, IMAGE, prog, "--version")
            host = subprocess.run([binary("apex-" + prog), "--version"],
                                  stdout=subprocess.PIPE, text=True)
            self.assertEqual(inside.stdout, host.stdout)
            self.assertIn("(git %s)" % revision, inside.stdout)

        # Runtime libraries only: no compiler, headers or npm; every
        # library the programs link is there.
        script = ("id -u; dpkg-query -W -f '${Package}\\n'; "
                  "for p in /usr/local/bin/apex-*; do ldd $p || true; done")
        res = podman("run", "--rm", *LOCKED, "--entrypoint", "sh", IMAGE,
                     "-c", script)
        lines = res.stdout.splitlines()
        self.assertEqual(lines[0], "10001")
        pkgs = set(lines[1:])
        self.assertIn("libczmq4", pkgs)
        bad = {p for p in pkgs if p.endswith("-dev") or p in (
            "gcc", "cpp", "make", "build-essential", "nodejs", "npm",
            "python3", "pkg-config", "binutils")}
        self.assertEqual(bad, set())
        self.assertNotIn("not found", res.stdout)


class HeadlessRunTest(ContainerCase):
    def test_master_two_workers_and_target_in_containers(self):
        target, base = self.start_target()
        # The image's HEALTHCHECK, run by podman, on a live target.
        self.assertEqual(podman("healthcheck", "run", target,
                                check=False).returncode, 0,
                         self.logs(target))
        self.reset_target(base)
        results = os.path.join(self.dir, "results")
        os.mkdir(results)
        os.chmod(results, 0o777)  # the image's user (10001) writes there
        scn = write_scenario(self.dir, SIMPLE)
        port = free_port()
        master = self.run_container(
            "master", "master", "-f", "/s/scenario.json", "--headless",
            "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
            "--expect-workers", 2, "--expect-workers-max-wait", 60,
            "-u", 4, "-r", 4, "-t", "4s", "--host", base,
            "--csv", "/var/lib/apex/results/run", "--only-summary",
            volumes=[scn + ":/s/scenario.json:ro",
                     results + ":/var/lib/apex/results:rw"])
        # By name, as in a deployment: localhost is looked up.
        workers = [self.run_container("worker%d" % i, "worker",
                                      "--master-host", "localhost",
                                      "--master-port", port)
                   for i in (1, 2)]
        self.assertEqual(self.wait_exit(master, 120), 0, self.logs(master))
        for w in workers:
            self.assertEqual(self.wait_exit(w, 60), 0, self.logs(w))
            self.assertIn("registered with the master at tcp://localhost:%d "
                          "(tcp://127.0.0.1:%d" % (port, port), self.logs(w))
        self.assertIn("Aggregated", podman("logs", master).stdout)
        self.assert_counts_match(base, os.path.join(results, "run"))


class ComposeTest(ContainerCase):
    def test_headless_compose_under_podman_compose(self):
        """docker-compose.yml + docker-compose.headless.yml as a user runs
        them, plus compose.host.yml (host network, 127.0.0.1, our ports,
        two workers: environment and network_mode only).

        What podman-compose 1.0.3 cannot do, worked around here and said
        in the README: profiles are ignored (the services are named on
        the command line, so the grafana profile's stay off), --scale is
        ignored (deploy.replicas is honoured), and network_mode: host
        gets the project network and ports added (podman_hostnet.py)."""
        if not shutil.which("podman-compose"):
            self.skipTest("podman-compose is not installed")
        project = self.tag
        target_port, zmq_port = free_port(), free_port()
        env = dict(os.environ,
                   TARGET_BIND="127.0.0.1", TARGET_PORT=str(target_port),
                   APEX_HOST="http://127.0.0.1:%d" % target_port,
                   APEX_TEST_ZMQ_PORT=str(zmq_port), APEX_TEST_WORKERS="2",
                   APEX_EXPECT_WORKERS="2", APEX_RUN_TIME="4s",
                   APEX_USERS="4", APEX_SPAWN_RATE="4")
        env.pop("APEX_OUT", None)
        files = ["-f", os.path.join(COMPOSE, "docker-compose.yml"),
                 "-f", os.path.join(COMPOSE, "docker-compose.headless.yml"),
                 "-f", os.path.join(HERE, "compose.host.yml")]
        cmd = ["podman-compose", "--podman-path",
               os.path.join(HERE, "podman_hostnet.py"), "-p", project, *files]
        log = os.path.join(self.dir, "compose.log")

        def compose(*args, timeout=300):
            with open(log, "a") as out:
                return subprocess.run(cmd + list(args), env=env, stdout=out,
                                      stderr=subprocess.STDOUT,
                                      timeout=timeout,
                                      stdin=subprocess.DEVNULL).returncode
        self.addCleanup(compose, "down", "-v", timeout=120)
        # The target first, so that its counts start at zero with the run.
        self.assertEqual(compose("up", "-d", "--no-build", "target"), 0,
                         open(log).read()[-3000:])
        base = "http://127.0.0.1:%d" % target_port
        wait_for(lambda: answers(base + "/health"), 60,
                 what="the compose target")
        self.reset_target(base)
        self.assertEqual(compose("up", "-d", "--no-build", "master",
                                 "worker"), 0, open(log).read()[-3000:])
        master = "%s_master_1" % project
        code = self.wait_exit(master, 180)
        mlog = podman("logs", master, check=False)
        self.assertEqual(code, 0, mlog.stderr[-3000:])
        self.assertIn("Aggregated", mlog.stdout)
        for i in (1, 2):
            self.assertIn("registered with the master", self.logs(
                "%s_worker_%d" % (project, i)))
        out = os.path.join(self.dir, "results")
        os.mkdir(out)
        podman("cp", master + ":/var/lib/apex/results/.", out)
        rows = read_csv(os.path.join(out, "run_stats.csv"))
        total = [r for r in rows if r["Name"] == "Aggregated"][0]
        served = apexlib.target_stats(base)["requests"]
        self.assertEqual(int(total["Request Count"]), sum(served.values()),
                         (rows, served))
        self.assertGreater(int(total["Request Count"]), 0)


class KubePlayTest(ContainerCase):
    """deploy/k8s rendered by kustomize and played by podman.

    What a cluster would give and podman cannot is replaced by settings
    in the rendered objects, each said here: hostNetwork (no pod
    network: the test binds 127.0.0.1 on free ports), and the master's
    address "localhost" instead of the Service name apex-master (podman
    plays no Service: no cluster DNS, no virtual address).
    """

    def render(self, folder):
        import yaml
        if not os.access(KUBECTL, os.X_OK):
            self.skipTest("kubectl is not installed: sh tests/deploy/tools.sh")
        res = subprocess.run([KUBECTL, "kustomize", folder],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr)
        return [d for d in yaml.safe_load_all(res.stdout) if d]

    def patch_spec(self, spec, ports, env_values=()):
        """A pod spec on the host network, bound to 127.0.0.1 on our
        ports, dialling the master at localhost."""
        spec["hostNetwork"] = True
        for c in spec["containers"]:
            c["image"] = IMAGE
            # podman refuses port mappings on the host network
            # ("PortMappings can only be used with Bridge or slirp4netns
            # networking"), and the probes name the ports.
            c.pop("ports", None)
            c.pop("readinessProbe", None)
            c.pop("livenessProbe", None)
            args = [str(a) for a in c.get("args", [])]
            for flag, value in (("--bind", "127.0.0.1"),
                                ("--port", ports["target"]),
                                ("--web-host", "127.0.0.1"),
                                ("--web-port", ports["web"])):
                if flag in args:
                    args[args.index(flag) + 1] = str(value)
            c["args"] = args
            env = {e["name"]: e for e in c.get("env", [])}
            for name, value in (
                    ("APEX_HOST", "http://127.0.0.1:%d" % ports["target"]),
                    ("APEX_MASTER_BIND_PORT", ports["zmq"]),
                    ("APEX_MASTER_PORT", ports["zmq"]),
                    ("APEX_MASTER_HOST", "localhost"), *env_values):
                if name in env:
                    env[name]["value"] = str(value)
            if "APEX_MASTER_BIND_PORT" in env:
                c["env"].append({"name": "APEX_MASTER_BIND_HOST",
                                 "value": "127.0.0.1"})

    def patch(self, docs, ports):
        """The kinds podman plays (Deployments patched), and the kinds
        left out."""
        played, left = [], []
        for d in docs:
            if d["kind"] not in ("Deployment", "ConfigMap", "Pod"):
                left.append(d["kind"])
                continue
            played.append(d)
            if d["kind"] == "Deployment":
                self.patch_spec(d["spec"]["template"]["spec"], ports)
        return played, left

    def jobs_as_pods(self, docs, ports, env_values):
        """The headless overlay's Jobs as the Pods a Job controller would
        make (parallelism of them), patched; ConfigMaps as they are."""
        out = []
        for d in docs:
            if d["kind"] == "ConfigMap":
                out.append(d)
            if d["kind"] != "Job":
                continue
            for i in range(d["spec"].get("parallelism", 1)):
                template = json.loads(json.dumps(d["spec"]["template"]))
                self.patch_spec(template["spec"], ports, env_values)
                # podman 4.3 holds a Pod's annotation values to the
                # 63-character limit of label values, which Kubernetes
                # does not: the chart's checksum/scenario (64 hex digits)
                # is refused ("value length exceeds Kubernetetes max 63").
                meta = template.setdefault("metadata", {})
                meta["annotations"] = {
                    k: v for k, v in (meta.get("annotations") or {}).items()
                    if len(str(v)) <= 63}
                out.append({"apiVersion": "v1", "kind": "Pod",
                            "metadata": dict(template.get("metadata", {}),
                                             name="%s-%d" % (
                                                 d["metadata"]["name"], i)),
                            "spec": template["spec"]})
        return out

    def play(self, docs, name):
        import yaml
        path = os.path.join(self.dir, name + ".yaml")
        with open(path, "w") as f:
            yaml.safe_dump_all(docs, f)
        self.addCleanup(podman, "kube", "play", "--down", path, check=False,
                        timeout=120)
        res = podman("kube", "play", path, timeout=300)
        return res.stdout + res.stderr

    def helm(self, *sets):
        """The chart rendered by `helm template` with these --set values."""
        import yaml
        if not os.access(HELM, os.X_OK):
            self.skipTest("helm is not installed: sh tests/deploy/tools.sh")
        args = [HELM, "template", "load", os.path.join(ROOT, "deploy",
                                                       "helm", "apex")]
        for s in sets:
            args += ["--set", s]
        res = subprocess.run(args, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr)
        return [d for d in yaml.safe_load_all(res.stdout) if d]

    def demo_target(self, ports):
        """deploy/k8s/demo-target played (its Service refused); returns
        the target's base URL, its counts reset."""
        docs = self.render(os.path.join(K8S, "demo-target"))
        self.refused(docs, "Service")
        target, left = self.patch(docs, ports)
        self.assertEqual(left, ["Service"])
        self.play(target, "demo-target")
        tbase = "http://127.0.0.1:%d" % ports["target"]
        wait_for(lambda: answers(tbase + "/health"), 60,
                 what="the demo target's pod")
        self.reset_target(tbase)
        return tbase

    def ui_run(self, docs, name, ports, tbase):
        """Play a master Deployment with its web UI and a worker
        Deployment: every replica registers, a run started and stopped
        through the web API ends with the master's totals equal to the
        target's, and the pods keep the manifests' security settings."""
        played, left = self.patch(docs, ports)
        self.assertEqual(left, ["Service"])
        workers = [d for d in played if d["kind"] == "Deployment"
                   and d["spec"]["template"]["spec"]["containers"][0]
                   ["name"] == "worker"]
        self.assertEqual(len(workers), 1, played)
        replicas = workers[0]["spec"]["replicas"]
        self.play(played, name)
        ui = "http://127.0.0.1:%d" % ports["web"]

        def registered():
            try:
                return http_json(ui + "/worker-count")["worker_count"]
            except OSError:
                return -1
        # A pod per replica, each a worker registered with the master.
        prefix = workers[0]["metadata"]["name"] + "-pod-"
        pods = podman("pod", "ps", "--format", "{{.Name}}").stdout.split()
        self.assertEqual(len([p for p in pods if p.startswith(prefix)]),
                         replicas, pods)
        wait_for(lambda: registered() == replicas, 60,
                 what="the master's web UI and %d workers (%s)"
                 % (replicas, podman("ps").stdout))
        http_json(ui + "/swarm", "POST",
                  b"user_count=2&spawn_rate=2&host=" + tbase.encode())
        wait_for(lambda: sum(apexlib.target_stats(tbase)["requests"]
                             .values()) >= 20, 60,
                 what="requests at the target")
        http_json(ui + "/stop")
        seen = {}

        def totals_agree():
            stats = http_json(ui + "/stats/requests")
            total = [s for s in stats["stats"]
                     if s["name"] == "Aggregated"][0]["num_requests"]
            served = sum(apexlib.target_stats(tbase)["requests"].values())
            seen.update(state=stats["state"], ours=total, served=served)
            return stats["state"] == "stopped" and total == served
        wait_for(totals_agree, 30, what="the master's totals to equal the "
                 "target's after stop (%s)" % seen)
        names = podman("ps", "--format", "{{.Names}}").stdout.split()
        worker = [n for n in names if n.startswith(prefix)][0]
        info = json.loads(podman("inspect", worker).stdout)[0]
        self.assertEqual(info["Config"]["User"], "10001:10001")
        self.assertTrue(info["HostConfig"]["ReadonlyRootfs"])
        self.assertEqual(info["EffectiveCaps"] or [], [])

    def headless_run(self, docs, name, ports, tbase):
        """Play a headless variant's Jobs as the Pods a Job controller
        would make (podman refuses Jobs): the master's exit code is 0 and
        its CSV counts equal the target's."""
        self.refused(docs, "Job")
        # A short, light run: the manifests' own is minutes of 50 users.
        pods = self.jobs_as_pods(docs, ports, (
            ("APEX_RUN_TIME", "4s"), ("APEX_USERS", 4),
            ("APEX_SPAWN_RATE", 4), ("APEX_EXPECT_WORKERS_MAX_WAIT", "60s")))

        def of(role):
            return [p for p in pods if p["kind"] == "Pod" and
                    p["spec"]["containers"][0]["name"] == role]
        [master], workers = of("master"), of("worker")
        env = {e["name"]: e["value"]
               for e in master["spec"]["containers"][0]["env"]}
        self.assertEqual(int(env["APEX_EXPECT_WORKERS"]), len(workers))
        self.play(pods, name)
        cname = master["metadata"]["name"] + "-master"
        self.assertEqual(self.wait_exit(cname, 180), 0,
                         self.logs(cname)[-3000:])
        for w in workers:
            wname = w["metadata"]["name"] + "-worker"
            self.assertEqual(self.wait_exit(wname, 60), 0, self.logs(wname))
        out = os.path.join(self.dir, name + "-results")
        os.mkdir(out)
        podman("cp", cname + ":/var/lib/apex/results/.", out)
        rows = read_csv(os.path.join(out, "run_stats.csv"))
        total = [r for r in rows if r["Name"] == "Aggregated"][0]
        served = apexlib.target_stats(tbase)["requests"]
        self.assertEqual(int(total["Request Count"]), sum(served.values()),
                         (rows, served))
        self.assertGreater(int(total["Request Count"]), 0)

    def refused(self, docs, kind):
        """podman 4.3 plays no object of this kind (the README says so):
        a document of only that kind is refused."""
        import yaml
        path = os.path.join(self.dir, kind + ".yaml")
        with open(path, "w") as f:
            yaml.safe_dump_all([d for d in docs if d["kind"] == kind][:1], f)
        res = podman("kube", "play", path, check=False)
        self.assertNotEqual(res.returncode, 0, res.stdout)
        self.assertIn("does not contain any supported kube kind", res.stderr)

    @staticmethod
    def ports():
        return {"target": free_port(), "zmq": free_port(), "web": free_port()}

    def test_kustomize_base_under_kube_play(self):
        ports = self.ports()
        tbase = self.demo_target(ports)
        self.ui_run(self.render(os.path.join(K8S, "base")), "base", ports,
                    tbase)

    def test_kustomize_headless_jobs_played_as_pods(self):
        ports = self.ports()
        tbase = self.demo_target(ports)
        self.headless_run(self.render(os.path.join(K8S, "headless")),
                          "headless", ports, tbase)

    def test_helm_chart_under_kube_play(self):
        """The chart's two modes, rendered by helm template: the web UI
        (Deployments) and master.headless=true (Jobs, played as Pods)."""
        ports = self.ports()
        tbase = self.demo_target(ports)
        self.ui_run(self.helm(), "helm-ui", ports, tbase)
        podman("kube", "play", "--down",
               os.path.join(self.dir, "helm-ui.yaml"))
        self.reset_target(tbase)
        self.headless_run(self.helm("master.headless=true"), "helm-headless",
                          ports, tbase)
