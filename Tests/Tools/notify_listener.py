#!/usr/bin/env python3
"""Plays systemd's side of NOTIFY_SOCKET for the tests: binds a datagram socket (a path, or an
abstract name given with a leading @) and appends every message received, with the monotonic
time (CLOCK_MONOTONIC, as MONOTONIC_USEC uses) and the sender's pid from SCM_CREDENTIALS (what
systemd checks for NotifyAccess=main), as one JSON line to the output file.

Usage: notify_listener.py SOCKET OUTPUT
"""
import json
import os
import signal
import socket
import struct
import sys
import time


def main():
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    address, output = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.bind("\0" + address[1:] if address.startswith("@") else address)
    credentials_size = struct.calcsize("3i")
    with open(output, "a", encoding="utf-8") as out:
        out.write(json.dumps({"time": time.monotonic(), "message": "LISTENING"}) + "\n")
        out.flush()
        while True:
            data, ancillary, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(credentials_size))
            pid = None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid, _, _ = struct.unpack("3i", payload[:credentials_size])
            record = {"time": time.monotonic(), "message": data.decode("utf-8", "replace"), "pid": pid}
            out.write(json.dumps(record) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
