#!/usr/bin/env python3
"""Measuring script (not a test): the gateway's resident memory through a storm of idle TLS
connections. Starts the release daemon on loopback with the development certificates and a
fresh store, opens --connections mutual-TLS connections that finish their handshake and then
say nothing, holds them --hold seconds, closes them all, and prints the resident memory before,
at the peak and every --every seconds for --after seconds after the storm.

Usage: scripts/connection-storm.py [--connections 5000] [--hold 5] [--after 60] [--every 10]
[--binary PATH]
"""
import argparse
import os
import resource
import socket
import ssl
import time

from gateway_process import ROOT, GatewayProcess


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--hold", type=float, default=5)
    parser.add_argument("--after", type=float, default=60)
    parser.add_argument("--every", type=float, default=10)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/fhir-risk-gateway"))
    args = parser.parse_args()

    # Room for the storm on both sides (the gateway's cap follows its own limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 2 * args.connections + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))

    gateway = GatewayProcess(args.binary, 18943, 18964, prefix="gateway-storm-")
    port, tls = gateway.port, gateway.tls
    sockets = []
    try:
        print(f"descriptor limit {wanted}; before the storm: {gateway.resident_mb():.0f} MB")
        context = ssl.create_default_context(cafile=f"{tls}/ca.crt")
        context.load_cert_chain(f"{tls}/client.crt", f"{tls}/client.key")
        context.check_hostname = False
        started = time.monotonic()
        failed = 0
        for _ in range(args.connections):
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=5)
                sockets.append(context.wrap_socket(raw, server_hostname="localhost"))
            except OSError:
                failed += 1
        print(f"{len(sockets)} connections open ({failed} refused) in {time.monotonic() - started:.1f} s: "
              f"{gateway.resident_mb():.0f} MB")
        time.sleep(args.hold)
        peak = gateway.resident_mb()
        for s in sockets:
            s.close()
        sockets = []
        print(f"closed after holding {args.hold:.0f} s (peak {peak:.0f} MB)")
        waited = 0.0
        while waited < args.after:
            time.sleep(args.every)
            waited += args.every
            print(f"  {waited:.0f} s after: {gateway.resident_mb():.0f} MB")
    finally:
        for s in sockets:
            s.close()
        gateway.stop()


if __name__ == "__main__":
    main()
