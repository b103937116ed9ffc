"""UDP traffic generator for the lab: ``python -m nettwin.lab.traffic --source IP DST=RATE...``.

Sends 1,000-byte datagrams from ``--source`` to each destination (port 9, discard) at its
rate in bit/s counted as the interface counters count it (Ethernet frame: payload + UDP 8 +
IP 20 + Ethernet 14 bytes), paced every 10 ms; runs until killed. Datagrams rotate over
``FLOWS`` source ports, so that routers hashing flows on layer 4 spread each demand over its
equal-cost paths about evenly, as the twin's ECMP model assumes."""

from __future__ import annotations

import argparse
import contextlib
import socket
import time

PAYLOAD = 1000
FRAME = PAYLOAD + 8 + 20 + 14
FLOWS = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("targets", nargs="+", help="DST_IP=RATE_BPS")
    args = parser.parse_args()
    targets = []
    for spec in args.targets:
        ip, rate = spec.split("=", 1)
        targets.append((ip, float(rate)))
    socks = []
    for _ in range(FLOWS):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((args.source, 0))
        socks.append(sock)
    sent = 0
    data = bytes(PAYLOAD)
    owed = [0.0] * len(targets)
    last = time.monotonic()
    while True:
        time.sleep(0.01)
        now = time.monotonic()
        dt, last = now - last, now
        for i, (ip, rate) in enumerate(targets):
            owed[i] += rate * dt / 8 / FRAME
            while owed[i] >= 1:
                owed[i] -= 1
                # no route yet (OSPF converging) or the link is down: the datagram is lost
                with contextlib.suppress(OSError):
                    socks[sent % FLOWS].sendto(data, (ip, 9))
                sent += 1


if __name__ == "__main__":
    main()
