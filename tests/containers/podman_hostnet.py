#!/usr/bin/python3
"""podman, for podman-compose 1.0.3 on the host's network (--podman-path).

podman-compose 1.0.3 gives every container its project network
(`--net PROJECT_default --network-alias SERVICE`), a service with
`network_mode: host` included, and passes the service's `ports`; podman
refuses both on the host network ("cannot set multiple networks without
bridge network mode", "PortMappings can only be used with Bridge or
slirp4netns networking"). When a command says `--network host`, this drops
those options (before the image, $APEX_COMPOSE_IMAGE, default apex:0.1.0)
and runs podman with the rest unchanged; any other command passes
through as it is.
"""
import os
import sys

DROP = {"--net": 1, "--network-alias": 1, "-p": 1, "--publish": 1}


def main():
    args = sys.argv[1:]
    image = os.environ.get("APEX_COMPOSE_IMAGE", "apex:0.1.0")
    pairs = list(zip(args, args[1:]))
    if ("--network", "host") in pairs:
        out, i = [], 0
        while i < len(args):
            a = args[i]
            if a in DROP:
                i += 1 + DROP[a]
                continue
            if a == image:
                out += args[i:]  # the image and the container's arguments
                break
            out.append(a)
            i += 1
        args = out
    os.execvp("podman", ["podman", *args])


if __name__ == "__main__":
    main()
