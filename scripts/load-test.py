#!/usr/bin/env python3
"""Load script (not a test): starts the release daemon on loopback with the development
certificates and a fresh store, posts ADC Observations (each with its own identifier, spread
over --patients patients) over HTTPS keep-alive from several
connections, and prints accepted Observations per second, p50/p99 latency and the daemon's
resident memory. Usage: scripts/load-test.py [--seconds 20] [--connections 8] [--rate N]
[--client python|wrk] [--binary PATH] [--cpu] [--cases] [--backlog N]

--cases posts, instead of lone ADC Observations, a transaction per request with a whole case of
a new patient (an MR study whose reasonCode is intrahepatic cholangiocarcinoma and the tumour's
mean ADC in the liver): every request is scored and queues a RiskAssessment for delivery.
--backlog N first puts N pending deliveries into the store (the gateway runs without an
upstream, so they stay pending), to measure writes behind a long upstream outage.

--rate N paces the load at N requests per second in total (for the latency at half load);
without it the clients send as fast as the gateway answers. --client wrk sends the load from wrk
(C, from Debian's wrk package) instead of Python threads: it costs the shared two cores far less,
but it cannot present a client certificate, so that run's gateway has TLS without mutual TLS.
Every request carries a different Observation (wrk builds each body in Lua), so none is answered
from the idempotency store instead of being written. --cpu (with wrk) adds the CPU time per
request over the middle third of the run, for the gateway and for the store's writer.
"""
import argparse
import http.client
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from gateway_process import ROOT, GatewayProcess


def observation(i, patients):
    return json.dumps({
        "resourceType": "Observation", "status": "final",
        "identifier": [{"system": "urn:load", "value": f"p{i}"}],
        "code": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "113041"}]},
        "subject": {"reference": f"Patient/load-{i % patients}"},
        "effectiveDateTime": "2026-03-02T09:15:00Z",
        "valueQuantity": {"value": 0.8 + (i % 50) / 100, "system": "http://unitsofmeasure.org", "code": "10*-3.mm2/s"},
    }).encode()


def case_bundle(i, day):
    """A transaction with a whole case of patient case-i: an eligible MR study and its ADC."""
    study = {"resourceType": "ImagingStudy", "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:1.2.826.0.1.{i}"}],
             "status": "available", "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}],
             "subject": {"reference": f"Patient/case-{i}"}, "started": f"{day}T09:15:00Z",
             "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "C22.1"}]}]}
    adc = {"resourceType": "Observation", "status": "final",
           "code": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "113041"}]},
           "subject": {"reference": f"Patient/case-{i}"}, "effectiveDateTime": f"{day}T09:15:00Z",
           "bodySite": {"coding": [{"system": "http://snomed.info/sct", "code": "10200004"}]},
           "valueQuantity": {"value": 0.8 + (i % 50) / 100, "system": "http://unitsofmeasure.org", "code": "10*-3.mm2/s"},
           "derivedFrom": [{"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"}]}
    return json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001", "resource": study, "request": {"method": "POST", "url": "ImagingStudy"}},
        {"resource": adc, "request": {"method": "POST", "url": "Observation"}}]}).encode()


def fill_backlog(path, count):
    """Puts `count` pending deliveries (and their assessments) into the store, as a long upstream
    outage leaves them; written beside the running gateway, in one transaction."""
    import sqlite3
    db = sqlite3.connect(path, timeout=30)
    now = time.time()
    with db:
        for n in range(count):
            identifier = f"urn:uuid:backlog-{n}"
            db.execute("INSERT INTO assessment (identifier, id, version, subject, status, json, updated_at) VALUES (?, ?, 1, ?, 'final', ?, ?)",
                       (identifier, f"backlog-{n}", f"Patient/backlog-{n}", b'{"resourceType":"RiskAssessment","status":"final"}', now))
            db.execute("INSERT INTO outbox (assessment_identifier, assessment_version, state, attempts, next_attempt_at, created_at) "
                       "VALUES (?, 1, 'pending', 0, ?, ?)", (identifier, now + 86400, now))
    db.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/fhir-risk-gateway"))
    parser.add_argument("--postgres", metavar="URL", help="the store: this PostgreSQL database (postgres://user@127.0.0.1:port/db, no TLS)")
    parser.add_argument("--gateways", type=int, choices=[1, 2], default=1,
                        help="2: a second gateway on the same --postgres database, with a wrk of its own (--client wrk)")
    parser.add_argument("--client", choices=["python", "wrk"], default="python")
    parser.add_argument("--profiles", choices=["enforce", "warn", "off"], default="enforce",
                        help="validation.profiles and validation.coreProfiles of the gateway(s): enforce (the default) validates "
                             "every resource against the profiles that apply; off looks at none")
    # A real case is a handful of resources per patient; with few patients each request would
    # re-correlate a patient holding hundreds of ADC Observations.
    parser.add_argument("--patients", type=int, default=20000)
    # With wrk: CPU time per accepted request over the middle of the run, for the whole gateway
    # and for the store's writer (its threads are dispatch "overcommit" threads), from
    # /proc/PID/task/*/schedstat and the gateway's own request counter. Steadier than the
    # throughput when the shared machine's speed moves.
    parser.add_argument("--cpu", action="store_true")
    parser.add_argument("--cases", action="store_true")
    parser.add_argument("--backlog", type=int, default=0)
    args = parser.parse_args()
    args.day = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))

    if args.gateways == 2 and (not args.postgres or args.client != "wrk"):
        sys.exit("--gateways 2 needs --postgres URL and --client wrk")
    extra = f"validation: {{profiles: {args.profiles}, coreProfiles: {args.profiles}}}"
    gateway = GatewayProcess(args.binary, 18843, 18864, mutual_tls=args.client != "wrk", prefix="gateway-load-", postgres=args.postgres, extra=extra)
    port, metrics, tls, work, daemon = gateway.port, gateway.metrics, gateway.tls, gateway.work, gateway.process
    args.second = None
    if args.gateways == 2:
        args.second = GatewayProcess(args.binary, 18845, 18866, mutual_tls=False, prefix="gateway-load-b-", postgres=args.postgres, extra=extra)
    try:
        if args.backlog:
            fill_backlog(gateway.store, args.backlog)
            print(f"backlog: {args.backlog} pending deliveries")
        if args.client == "wrk":
            args.metrics_port = metrics
            return run_wrk(args, port, work, daemon.pid)
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
                if args.cases:
                    connection.request("POST", "/fhir", body=case_bundle(i, args.day),
                                       headers={"Content-Type": "application/fhir+json", "Prefer": "return=minimal"})
                else:
                    connection.request("POST", "/fhir/Observation", body=observation(i, args.patients),
                                       headers={"Content-Type": "application/fhir+json", "Prefer": "return=minimal"})
                response = connection.getresponse()
                response.read()
                elapsed = time.monotonic() - start
                with lock:
                    if response.status in (200, 201):
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
        print(f"accepted {'cases' if args.cases else 'Observations'}: {len(latencies)} ({len(latencies) / duration:.0f}/s), errors {errors[0]}")
        print(f"latency p50 {p(0.50):.2f} ms, p99 {p(0.99):.2f} ms; gateway resident memory {int(rss) / 1024:.0f} MB")
    finally:
        gateway.stop()
        if args.second:
            args.second.stop()


WRK_SCRIPT = r"""
-- setup() runs in wrk's main Lua state and gives each thread's own state a global thread_id.
local counter = 0
local delay_ms = tonumber(os.getenv("LOAD_DELAY_MS") or "0")
local patients = tonumber(os.getenv("LOAD_PATIENTS") or "20000")
local started = 0
function setup(thread)
    started = started + 1
    thread:set("thread_id", started)
end
local cases = os.getenv("LOAD_CASES") == "1"
-- Distinct patients per wrk process (two gateways, each with its own wrk), and distinct study UIDs
-- (LOAD_ARC) for runs one after the other against the same store.
local prefix = os.getenv("LOAD_PREFIX") or "w"
local arc = tonumber(os.getenv("LOAD_ARC") or "") or ((prefix == "w") and 2 or 3)
local day = os.getenv("LOAD_DAY") or "2026-01-01"
function case_request(i)
    -- A transaction with a whole case of a new patient: an eligible MR study and its ADC.
    local body = string.format('{"resourceType":"Bundle","type":"transaction","entry":['
        .. '{"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000001","resource":{"resourceType":"ImagingStudy",'
        .. '"identifier":[{"system":"urn:dicom:uid","value":"urn:oid:1.2.826.0.%d.%d.%d"}],"status":"available",'
        .. '"modality":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"MR"}],"subject":{"reference":"Patient/%s%d-%d"},'
        .. '"started":"%sT09:15:00Z","reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"C22.1"}]}]},'
        .. '"request":{"method":"POST","url":"ImagingStudy"}},'
        .. '{"resource":{"resourceType":"Observation","status":"final",'
        .. '"code":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"113041"}]},'
        .. '"subject":{"reference":"Patient/%s%d-%d"},"effectiveDateTime":"%sT09:15:00Z",'
        .. '"bodySite":{"coding":[{"system":"http://snomed.info/sct","code":"10200004"}]},'
        .. '"valueQuantity":{"value":%0.2f,"system":"http://unitsofmeasure.org","code":"10*-3.mm2/s"},'
        .. '"derivedFrom":[{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}]},'
        .. '"request":{"method":"POST","url":"Observation"}}]}',
        arc, thread_id, counter, prefix, thread_id, counter, day, prefix, thread_id, counter, day, 0.8 + (i % 50) / 100)
    return wrk.format("POST", "/fhir",
        {["Content-Type"] = "application/fhir+json", ["Prefer"] = "return=minimal"}, body)
end
function request()
    counter = counter + 1
    local i = counter * 2 + thread_id
    if cases then return case_request(i) end
    local body = string.format('{"resourceType":"Observation","status":"final","identifier":[{"system":"urn:load","value":"w%d-%d"}],'
        .. '"code":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"113041"}]},'
        .. '"subject":{"reference":"Patient/load-%d"},"effectiveDateTime":"2026-03-02T09:15:00Z",'
        .. '"valueQuantity":{"value":%0.2f,"system":"http://unitsofmeasure.org","code":"10*-3.mm2/s"}}',
        thread_id, counter, i % patients, 0.8 + (i % 50) / 100)
    return wrk.format("POST", "/fhir/Observation",
        {["Content-Type"] = "application/fhir+json", ["Prefer"] = "return=minimal"}, body)
end
function delay()
    return delay_ms
end
done = function(summary, latency, requests)
    io.write(string.format("RESULT requests=%d non2xx=%d errors=%d p50=%f p99=%f duration_us=%d\n",
        summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        latency:percentile(50), latency:percentile(99), summary.duration))
end
"""


def thread_times(pid):
    """Nanoseconds each thread of the process has run, by (thread id, name)."""
    times = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                times[(tid, name)] = int(f.read().split()[0])
        except OSError:
            continue
    return times


def requests_counted(metrics_port):
    """The gateway's own count of FHIR API requests answered."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
        return int(sum(float(line.split()[-1]) for line in response.read().decode().splitlines()
                       if line.startswith("fhir_gateway_http_requests_total")))


def run_wrk(args, port, work, pid):
    """The load from wrk: two threads, --connections keep-alive connections; with --rate, each
    connection waits between requests so that the total approaches the rate."""
    if shutil.which("wrk") is None:
        sys.exit("--client wrk needs wrk: apt-get install wrk")
    script = os.path.join(work, "load.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT)
    environment = dict(os.environ)
    environment["LOAD_PATIENTS"] = str(args.patients)
    environment["LOAD_CASES"] = "1" if args.cases else ""
    environment["LOAD_DAY"] = args.day
    if args.rate:
        environment["LOAD_DELAY_MS"] = str(max(0, int(1000 * args.connections / args.rate) - 1))
    load = subprocess.Popen(
        ["wrk", "-t2", f"-c{args.connections}", f"-d{int(args.seconds)}s", "-s", script, f"https://127.0.0.1:{port}/"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    second = None
    if args.second:
        second = subprocess.Popen(
            ["wrk", "-t2", f"-c{args.connections}", f"-d{int(args.seconds)}s", "-s", script, f"https://127.0.0.1:{args.second.port}/"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(environment, LOAD_PREFIX="v"))
    cpu = None
    if args.cpu and args.seconds >= 8:
        # The middle of the run: from a third in, for a third of it.
        time.sleep(args.seconds / 3)
        before = (thread_times(pid), requests_counted(args.metrics_port))
        time.sleep(args.seconds / 3)
        after = (thread_times(pid), requests_counted(args.metrics_port))
        cpu = (before, after)
    output, errors = load.communicate()
    if load.returncode != 0:
        sys.exit(f"wrk failed: {errors.strip()}")
    if second:
        other, _ = second.communicate()
        fields = dict(item.split("=") for item in next(line for line in other.splitlines() if line.startswith("RESULT")).split()[1:])
        accepted = int(fields["requests"]) - int(fields["non2xx"])
        print(f"second gateway: accepted {accepted} ({accepted / (int(fields['duration_us']) / 1e6):.0f}/s), non-2xx {fields['non2xx']}, "
              f"p50 {float(fields['p50']) / 1000:.2f} ms, p99 {float(fields['p99']) / 1000:.2f} ms")
    with open(f"/proc/{pid}/status") as f:
        rss = next(line for line in f if line.startswith("VmRSS")).split()[1]
    fields = dict(item.split("=") for item in next(line for line in output.splitlines() if line.startswith("RESULT")).split()[1:])
    seconds = int(fields["duration_us"]) / 1e6
    accepted = int(fields["requests"]) - int(fields["non2xx"])
    print(f"client wrk, connections {args.connections}, rate {'max' if not args.rate else args.rate}/s, {seconds:.1f} s")
    print(f"accepted {'cases' if args.cases else 'Observations'}: {accepted} ({accepted / seconds:.0f}/s), non-2xx {fields['non2xx']}, errors {fields['errors']}")
    if cpu:
        (times0, count0), (times1, count1) = cpu
        served = max(1, count1 - count0)
        total = sum(times1.values()) - sum(times0.values())
        writer = sum(v for k, v in times1.items() if "overcommit" in k[1]) - sum(v for k, v in times0.items() if "overcommit" in k[1])
        print(f"CPU per request (middle third, {served} requests): gateway {total / 1000 / served:.0f} µs, "
              f"store writer and checkpoints {writer / 1000 / served:.0f} µs")
    print(f"latency p50 {float(fields['p50']) / 1000:.2f} ms, p99 {float(fields['p99']) / 1000:.2f} ms; "
          f"gateway resident memory {int(rss) / 1024:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
