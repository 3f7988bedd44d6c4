"""nginx (Debian's nginx-light) started by a test with its own
configuration in the test's folder, on 127.0.0.1, never the system
service: start_nginx(case, servers) with the server blocks as text
({port} and {dir} filled in). Its access log names the protocol, the
connection and the request's number on it, one line per request:
"PROTOCOL CONNECTION N STATUS URI"."""
import os
import socket

import apexlib

CONF = """
{user}
worker_processes 1;
worker_rlimit_nofile 20000;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
daemon off;
events {{ worker_connections 10000; }}
http {{
    log_format apex '$server_protocol $connection $connection_requests '
                    '$status $request_uri';
    access_log {dir}/access.log apex;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type application/octet-stream;
    {servers}
}}
"""


def start_nginx(case, servers, name="nginx"):
    """Start nginx for a ProcCase; returns its port (the {port} of the
    server blocks; {port2} is another, case.nginx_port2). Its files are
    in case.dir."""
    port = apexlib.free_port()
    case.nginx_port2 = apexlib.free_port()
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(case.dir, d), exist_ok=True)
    conf = os.path.join(case.dir, name + ".conf")
    body = servers.replace("{port}", str(port)).replace("{dir}", case.dir)
    body = body.replace("{port2}", str(case.nginx_port2))
    with open(conf, "w") as f:
        # Run as root, its workers would be nobody, who cannot read the
        # test's folder (mkdtemp makes it 0700).
        user = "user root;" if os.geteuid() == 0 else ""
        f.write(CONF.format(dir=case.dir, servers=body, user=user))
    proc = case.start(["/usr/sbin/nginx", "-c", conf, "-p", case.dir], name)

    def up():
        if not proc.running():
            raise AssertionError("nginx exited: " + proc.stderr())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False
    apexlib.wait_for(up, 10, what="nginx to listen")
    return port


def access_log(case):
    """The access log's lines, split: [protocol, connection, n, status,
    uri]."""
    path = os.path.join(case.dir, "access.log")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.split() for line in f if line.strip()]
