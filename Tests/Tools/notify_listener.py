#!/usr/bin/env python3
"""Plays systemd's side of NOTIFY_SOCKET for the tests: binds a datagram socket (a path, or an
abstract name given with a leading @) and appends every message received, with the monotonic
time, as one JSON line to the output file.

Usage: notify_listener.py SOCKET OUTPUT
"""
import json
import os
import signal
import socket
import sys
import time


def main():
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    address, output = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + address[1:] if address.startswith("@") else address)
    with open(output, "a", encoding="utf-8") as out:
        out.write(json.dumps({"time": time.monotonic(), "message": "LISTENING"}) + "\n")
        out.flush()
        while True:
            data = sock.recv(65536)
            out.write(json.dumps({"time": time.monotonic(), "message": data.decode("utf-8", "replace")}) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
