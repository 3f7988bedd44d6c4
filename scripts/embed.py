#!/usr/bin/env python3
"""Build the files that apex-master embeds and write them as C.

Reads the manifest (web/assets.txt): one asset a line,

    URL-PATH   CONTENT-TYPE   SOURCE-FILE

where URL-PATH is the first word, SOURCE-FILE the last (relative to the
repository root) and the content type everything in between. A text/html
source is a template: each marker

    <!-- apex:inline-css FILE -->      becomes <style>FILE</style>
    <!-- apex:inline-js FILE -->       becomes <script>FILE</script>
    <!-- apex:inline-comment FILE -->  becomes <!-- FILE --> (licence texts)

so the asset is one self-contained page that loads nothing. "</script" in
inlined JavaScript is written "<\\/script" and "</style" in CSS "<\\/style",
so neither can close its element early. Any other source is embedded byte
for byte.

Outputs (any combination):
  --c FILE      C source defining master_assets[] and master_nassets as
                declared in master/assets.h: one byte array per asset,
                followed by a NUL that the size does not count.
  --dep FILE    make dependencies of the --c file on every file read.
  --dump DIR    each built asset as a file under DIR ("/" as index.html),
                to look at or test without the binary.
  --get PATH    the built asset with that URL path on standard output.

Uses only the standard library. Exits 1 with "embed: where: what" on a bad
manifest, a missing file or an unknown marker.
"""

import argparse
import os
import re
import sys
import tempfile

REPORT_PATH = "report.html"
REPORT_MARKER = b"__APEX_REPORT_DATA__"
MARKER_RE = re.compile(rb"<!--\s*apex:([A-Za-z-]+)\s+(\S+)\s*-->")
BYTES_PER_LINE = 16


class EmbedError(Exception):
    pass


class Asset:
    def __init__(self, path, content_type, source, where):
        self.path = path
        self.content_type = content_type
        self.source = source
        self.where = where  # "manifest:line" for messages
        self.data = b""
        self.inputs = []  # files read to build it


def read_manifest(root, manifest):
    try:
        with open(os.path.join(root, manifest), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise EmbedError(f"{manifest}: {e.strerror}")
    assets = []
    seen = set()
    for n, line in enumerate(lines, 1):
        where = f"{manifest}:{n}"
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        words = text.split()
        if len(words) < 3:
            raise EmbedError(f"{where}: expected URL-PATH CONTENT-TYPE "
                             "SOURCE-FILE")
        path, source = words[0], words[-1]
        content_type = " ".join(words[1:-1])
        if path in seen:
            raise EmbedError(f"{where}: {path} is listed twice")
        if not all(0x20 < ord(c) < 0x7f and c not in "\"\\" for c in path):
            raise EmbedError(f"{where}: {path}: URL paths are printable "
                             "ASCII without quotes or backslashes")
        if not all(0x20 <= ord(c) < 0x7f and c not in "\"\\"
                   for c in content_type):
            raise EmbedError(f"{where}: {content_type}: bad content type")
        seen.add(path)
        assets.append(Asset(path, content_type, source, where))
    if not assets:
        raise EmbedError(f"{manifest}: lists no asset")
    return assets


def read_file(root, name, where, inputs):
    inputs.append(name)
    try:
        with open(os.path.join(root, name), "rb") as f:
            return f.read()
    except OSError as e:
        hint = ""
        if "node_modules" in name:
            hint = " (run: npm ci --prefix web)"
        raise EmbedError(f"{where}: {name}: {e.strerror}{hint}")


def escape_end_tag(data, tag):
    """Write "</tag" (any case) as "<\\/tag" so the element stays open."""
    return re.sub(rb"</(" + tag + rb")", rb"<\\/\1", data, flags=re.I)


def inline(root, asset, template):
    """Replace the apex:inline-* markers of an HTML template."""
    def replace(m):
        kind = m.group(1).decode()
        name = m.group(2).decode()
        where = f"{asset.source}: apex:{kind} {name}"
        data = read_file(root, name, where, asset.inputs)
        if kind == "inline-js":
            lower = data.lower()
            if b"<!--" in lower and b"<script" in lower:
                # "<!--" then "<script" would put the HTML parser in its
                # double-escaped state, where "</script>" does not end it.
                raise EmbedError(f"{where}: holds both '<!--' and '<script'")
            return b"<script>\n" + escape_end_tag(data, b"script") + \
                b"\n</script>"
        if kind == "inline-css":
            return b"<style>\n" + escape_end_tag(data, b"style") + \
                b"\n</style>"
        if kind == "inline-comment":
            text = data.replace(b"--", b"- -").rstrip()
            return b"<!--\n" + text + b"\n-->"
        raise EmbedError(f"{where}: unknown marker (inline-css, inline-js "
                         "or inline-comment)")
    return MARKER_RE.sub(replace, template)


def build(root, asset):
    data = read_file(root, asset.source, asset.where, asset.inputs)
    if asset.content_type.lower().startswith("text/html"):
        data = inline(root, asset, data)
    count = data.count(REPORT_MARKER)
    if asset.path == REPORT_PATH and count != 1:
        raise EmbedError(f"{asset.source}: holds "
                         f"{REPORT_MARKER.decode()} {count} times, not once")
    asset.data = data


def c_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def c_source(manifest, assets):
    out = [
        f"// Generated by scripts/embed.py from {manifest}: do not edit.",
        "// Each asset is its bytes followed by a NUL that size does not",
        "// count, so text assets are also C strings (master/assets.h).",
        "#include \"master/assets.h\"",
        "",
    ]
    for i, a in enumerate(assets):
        out.append(f"// {a.path}: {a.source}, {len(a.data)} bytes")
        out.append(f"static const unsigned char s_data_{i}[] = {{")
        data = a.data + b"\0"
        for off in range(0, len(data), BYTES_PER_LINE):
            chunk = data[off:off + BYTES_PER_LINE]
            out.append("    " + ", ".join(f"0x{b:02x}" for b in chunk) + ",")
        out.append("};")
        out.append("")
    out.append("const master_asset_t master_assets[] = {")
    for i, a in enumerate(assets):
        out.append(f"    {{{c_string(a.path)}, {c_string(a.content_type)}, "
                   f"s_data_{i}, {len(a.data)}}},")
    out.append("};")
    out.append("")
    out.append(f"const size_t master_nassets = {len(assets)};")
    return ("\n".join(out) + "\n").encode()


def write_atomic(path, data):
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".embed-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        mask = os.umask(0)  # mkstemp makes 0600; give what open() would
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def dep_source(target, inputs):
    def esc(name):
        return name.replace(" ", "\\ ").replace("$", "$$")
    lines = [esc(target) + ": " + " ".join(esc(i) for i in inputs), ""]
    for i in inputs:  # like gcc -MP: a deleted input is not an error
        lines += [esc(i) + ":", ""]
    return "\n".join(lines).encode()


def dump_name(path):
    name = path.lstrip("/")
    if name == "" or name.endswith("/"):
        name += "index.html"
    if ".." in name.split("/"):
        raise EmbedError(f"{path}: cannot dump a path with '..'")
    return name


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", default=os.path.dirname(here),
                   help="repository root (default: the parent of scripts/)")
    p.add_argument("--manifest", default="web/assets.txt")
    p.add_argument("--c", dest="c_out", metavar="FILE")
    p.add_argument("--dep", metavar="FILE")
    p.add_argument("--dump", metavar="DIR")
    p.add_argument("--get", metavar="PATH")
    args = p.parse_args(argv)
    try:
        assets = read_manifest(args.root, args.manifest)
        for a in assets:
            build(args.root, a)
        if args.get is not None:
            match = [a for a in assets if a.path == args.get]
            if not match:
                raise EmbedError(f"{args.manifest}: no asset {args.get}")
            sys.stdout.buffer.write(match[0].data)
        if args.dump:
            for a in assets:
                write_atomic(os.path.join(args.dump, dump_name(a.path)),
                             a.data)
        if args.c_out:
            if args.dep:
                inputs = [args.manifest]
                for a in assets:
                    inputs += [i for i in a.inputs if i not in inputs]
                write_atomic(args.dep, dep_source(args.c_out, inputs))
            write_atomic(args.c_out, c_source(args.manifest, assets))
    except EmbedError as e:
        print(f"embed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
