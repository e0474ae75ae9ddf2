#!/usr/bin/env python3
"""Opens N mutual-TLS connections to the gateway that finish their handshake and then say
nothing, prints "open N" when they are all open, waits for a line on standard input, closes
them all and prints "closed". For the end-to-end test of memory after a connection storm.

  idle_tls_connections.py --port P --ca CA --cert CERT --key KEY --count N
"""
import argparse
import resource
import socket
import ssl
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.count + 256)), hard))
    context = ssl.create_default_context(cafile=args.ca)
    context.load_cert_chain(args.cert, args.key)
    context.check_hostname = False
    sockets = []
    for _ in range(args.count):
        raw = socket.create_connection(("127.0.0.1", args.port), timeout=10)
        sockets.append(context.wrap_socket(raw, server_hostname="localhost"))
    print(f"open {len(sockets)}", flush=True)
    sys.stdin.readline()
    for s in sockets:
        s.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
