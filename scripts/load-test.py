#!/usr/bin/env python3
"""Load script (not a test): starts the release daemon on loopback with the development
certificates and a fresh store, posts ADC Observations over HTTPS keep-alive from several
connections, and prints accepted Observations per second, p50/p99 latency and the daemon's
resident memory. Usage: scripts/load-test.py [--seconds 20] [--connections 8] [--rate N]

--rate N paces the load at N requests per second in total (for the latency at half load);
without it the clients send as fast as the gateway answers.
"""
import argparse
import http.client
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def observation(i):
    return json.dumps({
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "113041"}]},
        "subject": {"reference": f"Patient/load-{i % 500}"},
        "effectiveDateTime": "2026-03-02T09:15:00Z",
        "valueQuantity": {"value": 0.8 + (i % 50) / 100, "system": "http://unitsofmeasure.org", "code": "10*-3.mm2/s"},
    }).encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/fhir-risk-gateway"))
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="gateway-load-")
    tls = os.path.join(work, "tls")
    subprocess.run([os.path.join(ROOT, "scripts/dev-certificates.sh"), tls], check=True, stdout=subprocess.DEVNULL)
    port, metrics = 18843, 18864
    with open(os.path.join(work, "gateway.yaml"), "w") as f:
        f.write(f"""server: {{host: 127.0.0.1, port: {port}}}
tls: {{certificate: {tls}/server.crt, privateKey: {tls}/server.key, clientCA: {tls}/ca.crt}}
storage: {{path: {work}/state/gateway.sqlite}}
metrics: {{host: 127.0.0.1, port: {metrics}}}
model: {{path: {ROOT}/Config/models/sheng2022.yaml}}
profiles: {{path: {ROOT}/Profiles}}
""")
    daemon = subprocess.Popen([args.binary, "serve", "--config", os.path.join(work, "gateway.yaml")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{metrics}/livez", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        context = ssl.create_default_context(cafile=f"{tls}/ca.crt")
        context.load_cert_chain(f"{tls}/client.crt", f"{tls}/client.key")
        latencies, errors, lock = [], [0], threading.Lock()
        stop_at = time.monotonic() + args.seconds
        counter = [0]
        interval = args.connections / args.rate if args.rate else 0

        def client(n):
            connection = http.client.HTTPSConnection("127.0.0.1", port, context=context)
            next_send = time.monotonic()
            while time.monotonic() < stop_at:
                with lock:
                    counter[0] += 1
                    i = counter[0]
                if interval:
                    next_send += interval
                    delay = next_send - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                start = time.monotonic()
                connection.request("POST", "/fhir/Observation", body=observation(i),
                                   headers={"Content-Type": "application/fhir+json", "Prefer": "return=minimal"})
                response = connection.getresponse()
                response.read()
                elapsed = time.monotonic() - start
                with lock:
                    if response.status == 201:
                        latencies.append(elapsed)
                    else:
                        errors[0] += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.connections)]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        duration = time.monotonic() - began
        with open(f"/proc/{daemon.pid}/status") as f:
            rss = next(line for line in f if line.startswith("VmRSS")).split()[1]
        latencies.sort()
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
        print(f"connections {args.connections}, rate {'max' if not args.rate else args.rate}/s, {duration:.1f} s")
        print(f"accepted Observations: {len(latencies)} ({len(latencies) / duration:.0f}/s), errors {errors[0]}")
        print(f"latency p50 {p(0.50):.2f} ms, p99 {p(0.99):.2f} ms; gateway resident memory {int(rss) / 1024:.0f} MB")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
