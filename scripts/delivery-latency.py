#!/usr/bin/env python3
"""Delivery latency (not a test): from the gateway's 2xx to a case's transaction to the upstream's
receipt of its RiskAssessment. Starts the release daemon (scripts/gateway_process.py, TLS without
client certificates) with a lean HTTPS upstream on the same machine (this script, run as
`--serve-upstream`, in its own process), posts a probe case (a transaction with an eligible MR
study and its ADC, of a new patient) at --rate per second over one keep-alive connection, and
prints p50, p90, p99 and the maximum. With --background N, wrk posts whole cases at about N per
second beside the probe (as scripts/load-test.py --client wrk --cases --rate N does), for the
latency under load. Both times are taken on this machine's real-time clock.

With --half-of-maximum, the script first finds the maximum load of this set-up: the highest rate of
cases the gateway both accepts and delivers to the upstream as fast as they come (a rate it accepts
but cannot deliver only fills the outbox). wrk posts cases unpaced for --maximum-seconds, then with
a longer pause between each connection's requests at each step, until the upstream receives at
least 97 % of what was accepted. Once the outbox is empty again, the probe runs with background
load making up half of that maximum, probe included.

  scripts/delivery-latency.py [--rate 20] [--seconds 30] [--background 0 | --half-of-maximum]
                              [--upstream python|nginx] [--concurrency N] [--binary PATH] [--postgres URL]
"""
import argparse
import datetime
import http.client
import importlib.util
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from gateway_process import ROOT, GatewayProcess


def serve_upstream(port, cert, key):
    """The upstream: takes every PUT, keeps the receipt time of each probe patient's first
    RiskAssessment, and answers GET /_records with them."""
    received = {}
    lock = threading.Lock()
    count = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def do_PUT(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            now = time.time_ns()
            subject = json.loads(body).get("subject", {}).get("reference", "")
            with lock:
                count[0] += 1
                if subject.startswith("Patient/probe-") and subject not in received:
                    received[subject] = now
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            with lock:
                data = json.dumps({"received": received, "count": count[0]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


NGINX_CONFIG = """worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 1024; }}
http {{
    log_format receipt '$msec $request_method $arg_identifier';
    access_log {work}/access.log receipt;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{ client_max_body_size 10m; return 201; }}
    }}
}}
"""


class NginxUpstream:
    """nginx (Debian's nginx-light) as the upstream: it answers every PUT 201 at a fraction of
    the Python upstream's CPU, and logs each request's time (ms) and identifier."""

    def __init__(self, port, cert, key):
        import tempfile
        self.work = tempfile.mkdtemp(prefix="latency-nginx-")
        self.port = port
        with open(os.path.join(self.work, "nginx.conf"), "w") as f:
            f.write(NGINX_CONFIG.format(work=self.work, port=port, cert=cert, key=key))
        self.process = subprocess.Popen(["nginx", "-c", os.path.join(self.work, "nginx.conf"), "-p", self.work],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    def receipts(self):
        """Nanoseconds of the first PUT of each identifier (the log's times are in ms)."""
        received = {}
        with open(os.path.join(self.work, "access.log")) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[1] == "PUT":
                    identifier = urllib.parse.unquote(parts[2]).split("|")[-1]
                    received.setdefault(identifier, int(float(parts[0]) * 1e9))
        return received

    def stop(self):
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.work, ignore_errors=True)


def probe_case(n, day):
    study = {"resourceType": "ImagingStudy", "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:1.2.826.0.9.{n}"}],
             "status": "available", "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}],
             "subject": {"reference": f"Patient/probe-{n}"}, "started": f"{day}T09:15:00Z",
             "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "C22.1"}]}]}
    adc = {"resourceType": "Observation", "status": "final",
           "code": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "113041"}]},
           "subject": {"reference": f"Patient/probe-{n}"}, "effectiveDateTime": f"{day}T09:15:00Z",
           "bodySite": {"coding": [{"system": "http://snomed.info/sct", "code": "10200004"}]},
           "valueQuantity": {"value": 0.8, "system": "http://unitsofmeasure.org", "code": "10*-3.mm2/s"},
           "derivedFrom": [{"reference": "urn:uuid:00000000-0000-4000-8000-000000000009"}]}
    return json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000009", "resource": study, "request": {"method": "POST", "url": "ImagingStudy"}},
        {"resource": adc, "request": {"method": "POST", "url": "Observation"}}]}).encode()


identifiers = {}


def nginx_records(nginx, gateway, context, answered):
    """The receipts nginx logged, by probe patient: each patient's assessment identifier is
    asked of the gateway once (after the probe run, so it costs the measurement nothing)."""
    for subject in answered:
        if subject in identifiers:
            continue
        connection = http.client.HTTPSConnection("127.0.0.1", gateway.port, context=context)
        connection.request("GET", f"/fhir/RiskAssessment?subject={subject}", headers={"Accept": "application/fhir+json"})
        bundle = json.loads(connection.getresponse().read())
        connection.close()
        for entry in bundle.get("entry", []):
            resource = entry.get("resource", {})
            if resource.get("resourceType") == "RiskAssessment":
                identifiers[subject] = resource["identifier"][0]["value"]
    receipts = nginx.receipts()
    received = {subject: receipts[identifiers[subject]] for subject in answered if identifiers.get(subject) in receipts}
    return {"received": received, "count": len(receipts)}


CONNECTIONS = 16
# How many wrk runs this process started: each gets its own patients and study UIDs.
runs = [0]


def delay_for(rate):
    """wrk's pause (ms) before each request of a connection for about `rate` cases per second."""
    return max(0, int(1000 * CONNECTIONS / rate) - 1)


def start_wrk(gateway, day, seconds, delay=0):
    """wrk posting whole cases (scripts/load-test.py's script) over CONNECTIONS connections, each
    pausing `delay` ms before each request (0: as fast as it can)."""
    if shutil.which("wrk") is None:
        sys.exit("background load needs wrk: apt-get install wrk")
    script = os.path.join(gateway.work, "load.lua")
    if not os.path.exists(script):
        spec = importlib.util.spec_from_file_location("load_test", os.path.join(ROOT, "scripts/load-test.py"))
        load_test = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(load_test)
        with open(script, "w") as f:
            f.write(load_test.WRK_SCRIPT)
    # New patients and studies in each run: a case already scored makes no new assessment.
    runs[0] += 1
    environment = dict(os.environ, LOAD_CASES="1", LOAD_DAY=day, LOAD_DELAY_MS=str(delay),
                       LOAD_PREFIX=f"r{runs[0]}-", LOAD_ARC=str(10 + runs[0]))
    return subprocess.Popen(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{int(seconds)}s", "-s", script, f"https://127.0.0.1:{gateway.port}/"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)


def wrk_accepted(process):
    """(cases answered 2xx, seconds, p50 µs) from a finished wrk's RESULT line, or None."""
    output, _ = process.communicate()
    line = next((line for line in output.splitlines() if line.startswith("RESULT")), "")
    if not line:
        return None
    fields = dict(item.split("=") for item in line.split()[1:])
    return int(fields["requests"]) - int(fields["non2xx"]), int(fields["duration_us"]) / 1e6, fields["p50"]


def drain(gateway, timeout=300):
    """Waits until the gateway's outbox is empty."""
    deadline = time.monotonic() + timeout
    while (gateway.metric("fhir_gateway_outbox_depth") or 0) > 0 and time.monotonic() < deadline:
        time.sleep(0.5)


def loaded_run(gateway, day, seconds, received, delay=0):
    """(accepted/s, received by the upstream/s) while wrk posts cases for `seconds` with `delay`;
    then waits for the outbox to empty."""
    before = received()
    started = time.monotonic()
    accepted = wrk_accepted(start_wrk(gateway, day, seconds, delay=delay))
    elapsed = time.monotonic() - started
    delivered = received() - before
    drain(gateway)
    if accepted is None:
        sys.exit("wrk printed no result")
    return accepted[0] / accepted[1], delivered / elapsed


def maximum_load(gateway, day, seconds, received):
    """The maximum load in cases per second: the highest rate the gateway both accepts and delivers
    as fast as it comes. wrk first posts unpaced; the intake then takes the cores from the
    deliveries and the outbox grows, so that rate is not sustained. Each following step lengthens
    the pause of wrk's connections between requests until the upstream receives at least 97 % of
    what the gateway accepted over the same time (the rest is in flight)."""
    for delay in (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 70, 100):
        accepted, delivered = loaded_run(gateway, day, seconds, received, delay=delay)
        print(f"wrk pausing {delay} ms: accepted {accepted:.0f} cases/s, upstream received {delivered:.0f}/s", flush=True)
        if delivered >= 0.97 * accepted:
            break
    else:
        print("the deliveries kept up at no step: the last step's rate is taken, and it overstates the maximum", flush=True)
    print(f"maximum load: {accepted:.0f} cases/s accepted and delivered; half {accepted / 2:.0f}/s", flush=True)
    return accepted


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--background", type=float, default=0, help="cases per second from wrk beside the probe")
    parser.add_argument("--half-of-maximum", action="store_true",
                        help="find the maximum load first, then run the probe with background load at half of it")
    parser.add_argument("--maximum-seconds", type=float, default=15, help="how long each step of the search for the maximum runs")
    parser.add_argument("--upstream", choices=["python", "nginx"], default="python",
                        help="nginx: Debian's nginx-light as the upstream, for loads the Python one cannot take on the same cores")
    parser.add_argument("--concurrency", type=int, help="delivery.concurrency (default: the gateway's, 4)")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/fhir-risk-gateway"))
    parser.add_argument("--postgres", metavar="URL", help="the store: this PostgreSQL database (postgres://user@127.0.0.1:port/db, no TLS)")
    parser.add_argument("--serve-upstream", nargs=3, metavar=("PORT", "CERT", "KEY"))
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(int(args.serve_upstream[0]), args.serve_upstream[1], args.serve_upstream[2])
        return

    day = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    tls = os.path.join(ROOT, ".build/latency-tls")
    subprocess.run([os.path.join(ROOT, "scripts/dev-certificates.sh"), tls], check=True, stdout=subprocess.DEVNULL)
    nginx = None
    if args.upstream == "nginx":
        if shutil.which("nginx") is None:
            sys.exit("--upstream nginx needs nginx: apt-get install nginx-light")
        upstream_port = 18990
        nginx = NginxUpstream(upstream_port, f"{tls}/server.crt", f"{tls}/server.key")
        upstream = nginx.process
    else:
        upstream = subprocess.Popen([sys.executable, __file__, "--serve-upstream", "0", f"{tls}/server.crt", f"{tls}/server.key"],
                                    stdout=subprocess.PIPE, text=True)
        upstream_port = int(upstream.stdout.readline())
    extra = f"upstream: {{baseURL: 'https://127.0.0.1:{upstream_port}', caCertificate: {tls}/ca.crt}}\n"
    if args.concurrency:
        extra += f"delivery: {{concurrency: {args.concurrency}}}\n"
    gateway = GatewayProcess(args.binary, 18943, 18964, mutual_tls=False, prefix="gateway-latency-", extra=extra, postgres=args.postgres)
    background = None
    try:
        context = ssl.create_default_context(cafile=f"{gateway.tls}/ca.crt")
        upstream_context = ssl.create_default_context(cafile=f"{tls}/ca.crt")

        def upstream_records(answered):
            if nginx:
                return nginx_records(nginx, gateway, context, answered)
            with urllib.request.urlopen(f"https://127.0.0.1:{upstream_port}/_records", context=upstream_context, timeout=5) as answer:
                return json.loads(answer.read())

        if args.half_of_maximum:
            received = (lambda: len(nginx.receipts())) if nginx else (lambda: upstream_records({})["count"])
            args.background = max(0, maximum_load(gateway, day, args.maximum_seconds, received) / 2 - args.rate)
        if args.background:
            background = start_wrk(gateway, day, args.seconds + 2, delay=delay_for(args.background))
            time.sleep(1)
        connection = http.client.HTTPSConnection("127.0.0.1", gateway.port, context=context)
        answered = {}
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < args.seconds:
            due = started + n / args.rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            connection.request("POST", "/fhir", body=probe_case(n, day),
                               headers={"Content-Type": "application/fhir+json", "Prefer": "return=minimal"})
            response = connection.getresponse()
            response.read()
            if 200 <= response.status < 300:
                answered[f"Patient/probe-{n}"] = time.time_ns()
            n += 1
        # Let the last deliveries arrive.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            records = upstream_records(answered)
            if all(subject in records["received"] for subject in answered):
                break
            time.sleep(0.2)
        if background:
            result = wrk_accepted(background)
            if result:
                cases, seconds, p50 = result
                print(f"background: {cases} cases from wrk in {seconds:.1f} s ({cases / seconds:.0f}/s, paced for "
                      f"{args.background:.0f}/s), p50 {p50} µs")
        latencies = sorted((records["received"][s] - t) / 1e6 for s, t in answered.items() if s in records["received"])
        missing = len(answered) - len(latencies)
        if not latencies:
            sys.exit("no probe case reached the upstream")

        def p(q):
            return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

        print(f"probe: {len(answered)} cases at {args.rate:g}/s; delivered {len(latencies)}, missing {missing}; "
              f"upstream received {records['count']} RiskAssessments in all")
        print(f"2xx to upstream receipt: p50 {p(0.5):.2f} ms, p90 {p(0.9):.2f} ms, p99 {p(0.99):.2f} ms, max {latencies[-1]:.2f} ms")
    finally:
        if background and background.poll() is None:
            background.kill()
        gateway.stop()
        if nginx:
            nginx.stop()
        else:
            upstream.terminate()
            upstream.wait()


if __name__ == "__main__":
    main()
