#!/usr/bin/env python3
"""Sends the gateway the HTTP/1.1 edges that curl cannot (raw bytes over mutual TLS) and prints
what came back, as JSON, for the end-to-end tests:

  http_edges.py --port P --ca CA --cert CERT --key KEY

For each case: the status line, the body, whether the server closed the connection, and the
seconds it took. Reads with a 5 s timeout; never sends more than a few megabytes.
"""
import argparse
import json
import socket
import ssl
import time


def exchange(context, port, request, read_for=5.0, more=b""):
    """Sends `request` (and `more`, slowly, only while the server keeps the connection open);
    returns (response bytes, closed by the server, seconds until the answer was complete)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=read_for)
    tls = context.wrap_socket(raw, server_hostname="localhost")
    started = time.monotonic()
    tls.sendall(request)
    received = b""
    closed = False
    tls.settimeout(0.2)
    deadline = started + read_for
    sent_more = 0
    while time.monotonic() < deadline:
        if more and sent_more < len(more):
            try:
                tls.sendall(more[sent_more:sent_more + 65536])
                sent_more += 65536
            except OSError:
                pass
        try:
            chunk = tls.recv(65536)
        except socket.timeout:
            continue
        except (ssl.SSLError, OSError):
            closed = True
            break
        if not chunk:
            closed = True
            break
        received += chunk
    elapsed = time.monotonic() - started
    tls.close()
    return received, closed, elapsed


def summary(received, closed, elapsed):
    head, _, body = received.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode(errors="replace")
    return {"status": status, "body": body.decode(errors="replace"), "closed": closed, "seconds": round(elapsed, 2)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    context = ssl.create_default_context(cafile=args.ca)
    context.load_cert_chain(args.cert, args.key)
    context.check_hostname = False

    results = {}
    results["connect"] = summary(*exchange(context, args.port, b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n"))
    results["http10"] = summary(*exchange(context, args.port, b"GET /fhir/metadata HTTP/1.0\r\n\r\n"))
    results["http11"] = summary(*exchange(context, args.port, b"GET /fhir/metadata HTTP/1.1\r\nHost: localhost\r\n\r\n", read_for=0.5))
    results["slowHeader"] = summary(*exchange(context, args.port, b"GET /fhir/metadata HTTP/1.1\r\nHost: localhost\r\n", read_for=5.0))
    big = b"X-Big: " + b"a" * (1024 * 1024) + b"\r\n"
    results["header"] = summary(*exchange(context, args.port, b"GET /fhir/metadata HTTP/1.1\r\nHost: localhost\r\n" + big + b"\r\n"))
    declared = b"POST /fhir/Observation HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/fhir+json\r\nContent-Length: 100000000\r\n\r\n"
    results["length"] = summary(*exchange(context, args.port, declared, more=b" " * (4 * 1024 * 1024)))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
