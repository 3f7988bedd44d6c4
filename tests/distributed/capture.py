"""Capture the TCP payload of one port on one interface, as tcpdump would,
with a raw packet socket (AF_PACKET; needs root, and is run inside a test
host's network namespace, so it sees that host's traffic only).

    capture.py IFACE PORT OUTDIR

Prints "ready" once the socket is bound, then records every IPv4 TCP
segment to or from PORT until SIGTERM, and writes two files into OUTDIR:
to_port.bin (payload sent to PORT) and from_port.bin (sent from it), each
the connections' byte streams in sequence order, so a string split over
two segments is found whole. Retransmitted bytes are kept once.
"""
import os
import signal
import socket
import struct
import sys

ETH_P_ALL = 0x0003
ETH_HEADER = 14
ETH_P_IP = 0x0800
IPPROTO_TCP = 6


def parse(frame):
    """(src, sport, dst, dport, seq, payload) of an IPv4 TCP frame, or
    None."""
    if len(frame) < ETH_HEADER + 20:
        return None
    if struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
        return None
    ip = frame[ETH_HEADER:]
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    if ip[9] != IPPROTO_TCP or len(ip) < ihl + 20:
        return None
    src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    tcp = ip[ihl:total]
    sport, dport, seq = struct.unpack("!HHI", tcp[:8])
    offset = (tcp[12] >> 4) * 4
    return src, sport, dst, dport, seq, bytes(tcp[offset:])


def main():
    iface, port, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                         socket.htons(ETH_P_ALL))
    sock.bind((iface, 0))
    streams = {}  # (src, sport, dst, dport) -> {seq: payload}
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    sock.settimeout(0.2)
    print("ready", flush=True)
    while not stop:
        try:
            frame = sock.recv(65536)
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        seg = parse(frame)
        if not seg or port not in (seg[1], seg[3]) or not seg[5]:
            continue
        streams.setdefault(seg[:4], {})[seg[4]] = seg[5]
    out = {"to_port.bin": b"", "from_port.bin": b""}
    for key, segs in streams.items():
        name = "to_port.bin" if key[3] == port else "from_port.bin"
        data, end = b"", None
        for seq in sorted(segs):
            payload = segs[seq]
            if end is not None and seq < end:  # retransmitted, or overlap
                payload = payload[end - seq:]
            data += payload
            end = max(end or 0, seq + len(segs[seq]))
        out[name] += data
    for name, data in out.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
