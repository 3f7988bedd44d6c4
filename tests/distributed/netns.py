"""Test hosts on one machine: network namespaces joined by a Linux bridge.

A `Network` is a set of namespaces named `<prefix>-<host>`, one per test
host, each with a veth pair whose outer end is a port of a bridge. The
bridge and the outer veth ends live in a namespace of their own
(`<prefix>-sw`, the "switch"), not in the machine's namespace: nothing is
added to the machine's own interfaces, routes or firewall (bridged frames
never meet the machine's iptables even where bridge-nf-call-iptables is
on), and deleting the namespaces deletes every interface the network made.
The addresses come from a subnet that none of the machine's interfaces or
routes use, so even a mistake cannot send test traffic anywhere else.

Cutting a host's link sets the switch end of its veth down: the host sees
its carrier go away, as if its cable were pulled, keeps its address and
routes, and TCP retransmits until the link comes back.

Every name starts with `apx<pid>`, so a run never touches another run's
namespaces; `remove_stale()` deletes those of runs whose process is gone
(a run killed with SIGKILL cannot clean up after itself).

Everything here needs root, iproute2's `ip` and util-linux's `unshare`;
`unavailable_reason()` says why it cannot work on this machine, if so.
"""
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys

# Candidate subnets, in order of preference; the first one that overlaps
# nothing on the machine is used.
CANDIDATES = ("10.213.0.0/24", "172.31.213.0/24", "10.214.77.0/24",
              "192.168.213.0/24", "10.99.213.0/24", "172.30.213.0/24")

PREFIX_RE = re.compile(r"^apx(\d+)t\d+-")


class NetnsError(Exception):
    """An `ip` command failed."""


def ip(*args, check=True, timeout=10):
    """Run `ip ARGS...`; returns stdout, raises NetnsError on failure."""
    cmd = ["ip", *[str(a) for a in args]]
    try:
        res = subprocess.run(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise NetnsError("%s: timed out" % " ".join(cmd))
    if check and res.returncode != 0:
        raise NetnsError("%s: exit %d: %s" % (" ".join(cmd), res.returncode,
                                              res.stderr.strip()))
    return res.stdout


def namespaces():
    """Names of the named network namespaces (`ip netns list`)."""
    out = ip("netns", "list", check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def host_links():
    """Interface names in the machine's own namespace (`ip -o link`)."""
    out = ip("-o", "link", "show", check=False)
    names = []
    for line in out.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@")[0])
    return names


def unavailable_reason():
    """Why namespaces cannot be made here, or None when they can."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root (running as uid %d)" % (
            os.geteuid())
    for tool, package in (("ip", "iproute2"), ("unshare", "util-linux")):
        if not shutil.which(tool):
            return "`%s` is not installed (Debian package %s)" % (tool,
                                                                  package)
    try:
        res = subprocess.run(["unshare", "--net", "--uts", "true"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unshare failed: %s" % e
    if res.returncode != 0:
        return "unshare --net --uts failed: %s" % res.stderr.strip()
    probe = "apx%dt0-probe" % os.getpid()
    try:
        ip("netns", "add", probe)
    except NetnsError as e:
        return "cannot create a network namespace: %s" % e
    try:
        ip("-n", probe, "link", "add", "br0", "type", "bridge")
        ip("-n", probe, "link", "add", "v0", "type", "veth", "peer", "name",
           "v1")
    except NetnsError as e:
        return "cannot create a bridge or a veth pair: %s" % e
    finally:
        ip("netns", "del", probe, check=False)
    return None


def used_networks():
    """IPv4 networks the machine's interfaces and routes use."""
    nets = []
    for line in ip("-4", "-o", "addr", "show", check=False).splitlines():
        m = re.search(r"\binet (\d+\.\d+\.\d+\.\d+/\d+)", line)
        if m:
            nets.append(ipaddress.ip_interface(m.group(1)).network)
    routes = ip("-4", "route", "show", "table", "all", check=False)
    for line in routes.splitlines():
        words = line.split()
        if not words:
            continue
        dest = words[1] if words[0] in ("local", "broadcast", "unicast",
                                        "blackhole", "unreachable",
                                        "prohibit", "throw") else words[0]
        if dest == "default":
            continue
        try:
            nets.append(ipaddress.ip_network(dest, strict=False))
        except ValueError:
            continue
    return nets


def pick_subnet(candidates=CANDIDATES):
    """The first candidate subnet that overlaps nothing the machine uses."""
    used = used_networks()
    for text in candidates:
        net = ipaddress.ip_network(text)
        if not any(net.overlaps(u) for u in used):
            return net
    raise NetnsError("every candidate subnet is in use here: %s"
                     % ", ".join(candidates))


def remove_stale():
    """Delete namespaces left by runs whose process no longer exists, and
    end the programs such a run left running in them (a run killed with
    SIGKILL cannot stop them)."""
    for name in namespaces():
        m = PREFIX_RE.match(name)
        if not m:
            continue
        pid = int(m.group(1))
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # that run is still going
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        for pid_text in ip("netns", "pids", name, check=False).split():
            try:
                os.kill(int(pid_text), signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass
        ip("netns", "del", name, check=False)


class Host:
    """One test host: a namespace with one address on the bridge."""

    def __init__(self, network, name, ns, address, port):
        self.network = network
        self.name = name          # short name, e.g. "w1"
        self.ns = ns              # namespace name
        self.address = address    # str, e.g. "10.213.0.3"
        self.port = port          # the switch end of its veth

    def hostname(self):
        """The hostname its programs see (each host has its own)."""
        return "%s-%s" % (self.network.prefix, self.name)

    def command(self, args):
        """argv that runs args inside this host: its network namespace
        and a UTS namespace of its own whose hostname is hostname().

        `ip netns exec` and `unshare` exec the next program, so the
        process started is the program itself (same pid, same signals).
        """
        return ["ip", "netns", "exec", self.ns, "unshare", "--uts", "sh",
                "-c", 'hostname "$0" && exec "$@"', self.hostname(),
                *[str(a) for a in args]]

    def cut(self):
        """Unplug the cable: the switch end of the veth goes down."""
        ip("-n", self.network.switch, "link", "set", self.port, "down")

    def restore(self):
        ip("-n", self.network.switch, "link", "set", self.port, "up")

    def http(self, method, url, body=None, timeout=5):
        """One HTTP request made from inside this host.

        Returns (status, body text); status 0 when nothing answered.
        """
        script = (
            "import sys, urllib.request, urllib.error\n"
            "m, u, b, t = sys.argv[1], sys.argv[2], sys.argv[3], "
            "float(sys.argv[4])\n"
            "data = b.encode() if b else None\n"
            "req = urllib.request.Request(u, data=data, method=m)\n"
            "try:\n"
            "    with urllib.request.urlopen(req, timeout=t) as r:\n"
            "        code, text = r.status, r.read()\n"
            "except urllib.error.HTTPError as e:\n"
            "    code, text = e.code, e.read()\n"
            "except OSError as e:\n"
            "    code, text = 0, str(e).encode()\n"
            "sys.stdout.write('%d\\n' % code)\n"
            "sys.stdout.write(text.decode('utf-8', 'replace'))\n")
        res = subprocess.run(
            ["ip", "netns", "exec", self.ns, sys.executable, "-c", script,
             method, url, body or "", str(timeout)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=timeout + 10, stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            raise NetnsError("http in %s failed: %s" % (self.ns, res.stderr))
        status, _, text = res.stdout.partition("\n")
        return int(status), text


class Network:
    """Namespaces on one bridge. Use as a context manager, or call close()."""

    def __init__(self, tag):
        self.prefix = "apx%dt%d" % (os.getpid(), tag)
        self.switch = self.prefix + "-sw"
        self.subnet = None
        self.hosts = {}
        self._made = []
        self._next = 1

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    def open(self):
        self.subnet = pick_subnet()
        self._add_ns(self.switch)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")
        return self

    def _add_ns(self, name):
        ip("netns", "add", name)
        self._made.append(name)
        ip("-n", name, "link", "set", "lo", "up")

    def add_host(self, name):
        """A new host on the bridge with the next free address."""
        index = self._next
        self._next += 1
        address = str(self.subnet.network_address + index)
        ns = "%s-%s" % (self.prefix, name)
        port = "p%d" % index
        self._add_ns(ns)
        # Both ends are created inside namespaces: the outer end in the
        # switch, the inner one (eth0) moved into the host at once.
        ip("-n", self.switch, "link", "add", port, "type", "veth", "peer",
           "name", "eth0", "netns", ns)
        ip("-n", self.switch, "link", "set", port, "master", "br0")
        ip("-n", self.switch, "link", "set", port, "up")
        ip("-n", ns, "addr", "add",
           "%s/%d" % (address, self.subnet.prefixlen), "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        host = Host(self, name, ns, address, port)
        self.hosts[name] = host
        return host

    def leftovers(self):
        """Namespaces and machine interfaces with our prefix still there."""
        left = [n for n in namespaces() if n.startswith(self.prefix + "-")]
        left += [n for n in host_links() if n.startswith(self.prefix)]
        return left

    def close(self):
        """Delete every namespace made (with them, every veth and bridge).

        Kill the processes running in them first: a namespace that still
        has a process lives on, unnamed, after `ip netns del`.
        """
        errors = []
        for name in reversed(self._made):
            try:
                ip("netns", "del", name)
            except NetnsError as e:
                errors.append(str(e))
        self._made = []
        left = self.leftovers()
        if left or errors:
            raise NetnsError("could not clean up: left %s; %s"
                             % (left, "; ".join(errors)))
