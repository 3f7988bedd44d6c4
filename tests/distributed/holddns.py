#!/usr/bin/python3
"""A DNS server for one test: a name that resolves late, behind a DNS
server that does not answer until then.

    holddns.py BIND NAME ADDRESS HOLDFILE

Listens on UDP BIND:53. While HOLDFILE exists, queries for NAME get no
answer at all (a server that is down, or a record not there yet behind a
forwarder that waits); once it is gone, NAME's A query is answered with
ADDRESS and its other queries with no record. Any other name gets
NXDOMAIN at once. One line per query on stdout:

    query PORT ID TYPE NAME held|answered|nxdomain

(PORT: the asker's source port: glibc uses one socket per lookup, so
distinct ports are distinct lookups). Runs until killed.
"""
import os
import socket
import sys

from dnslib import QTYPE, RCODE, RR, A, DNSRecord


def main():
    bind, name, address, hold = sys.argv[1:5]
    want = name.rstrip(".").lower()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind, 53))
    print("listening", flush=True)
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            query = DNSRecord.parse(data)
        except Exception as e:  # not DNS: ignore it, as a server would
            print("junk %s" % e, flush=True)
            continue
        qname = str(query.q.qname).rstrip(".").lower()
        qtype = QTYPE.get(query.q.qtype)
        reply = query.reply()
        if qname != want:
            reply.header.rcode = RCODE.NXDOMAIN
            what = "nxdomain"
        elif os.path.exists(hold):
            reply = None
            what = "held"
        else:
            if query.q.qtype == QTYPE.A:
                reply.add_answer(RR(query.q.qname, QTYPE.A, rdata=A(address),
                                    ttl=0))
            what = "answered"
        print("query %d %d %s %s %s" % (peer[1], query.header.id, qtype,
                                        qname, what), flush=True)
        if reply is not None:
            sock.sendto(reply.pack(), peer)


if __name__ == "__main__":
    main()
