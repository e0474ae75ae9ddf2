#!/usr/bin/env python3
"""Crash loop (not a test, a few minutes): kill -9 the daemon at random moments under a steady load
of creates and updates, start it again each time, and check that nothing acknowledged was lost and
nothing was delivered twice.

  scripts/crash-loop.py [--kills 20] [--seed N] [--rate 40] [--connections 4] [--binary PATH]
  scripts/crash-loop.py --self-check    # the comparison below finds faults planted in a store

The daemon (the SQLite store, mutual TLS, scripts/gateway_process.py) delivers to the tests' HTTPS
FHIR upstream (Tests/Tools/upstream_fhir_server.py, scripts/upstream_process.py), which records
every PUT; each PUT waits --answer-delay once recorded, so that kills find deliveries in flight
(the daemon's delivery.initialBackoffSeconds 1, maxBackoffSeconds 5: a retry is soon due).
Python threads send, paced at --rate requests/s in all, over HTTPS keep-alive with the client
certificate, either
  - a new case: a transaction Bundle with an eligible MR ImagingStudy and its ADC Observation, each
    as `PUT Type/id` with ids of the script's own (unique per run), or
  - an update of a case this thread has had acknowledged: `PUT /fhir/Observation/{id}` with a new
    ADC value (each version of an Observation carries a value none of its others carries), which
    re-scores the case into a new RiskAssessment version.
Every 2xx is recorded with what it carried. --kills times, after a random delay (uniform between
--min-delay and --max-delay seconds from the daemon's readiness, drawn from --seed), the daemon gets
SIGKILL, is started again on the same store and waited for (/readyz, --ready-timeout). Then the
load stops, the outbox is waited for (fhir_gateway_outbox_depth 0, --drain-timeout), the daemon
stops, and the store is read (read-only, Python's sqlite3) beside the upstream's record:

  acknowledged writes lost  an acknowledged resource missing from the store, or stored with an
                            older value than the last one acknowledged (a later value sent but
                            not acknowledged may be there: it was committed before the kill);
                            an acknowledged case without its RiskAssessment
  outbox                    deliveries left pending or dead
  upstream state            per assessment identifier one resource, equal to the store's latest
                            version (the upstream's conditional update keeps one per identifier),
                            and one per case (a duplicate delivery at the upstream's state would be
                            a second RiskAssessment of one patient)
  versions delivered        per identifier, the distinct bodies the upstream accepted, in order,
                            against the versions the store marked delivered (a version superseded
                            by a newer one before it went out is never sent: the newest carries it)
  PUTs repeated             a version accepted by the upstream more than once; "after a kill" when
                            a kill fell between the two PUTs (the upstream took it, the daemon died
                            before it recorded the delivery, and sent it again on its next start:
                            the at-least-once window README.md describes); otherwise unexplained

Exit 1 on a lost write, a delivery left pending or dead, an upstream state that is not the store's
or holds a case twice,
a version never delivered, or a PUT repeated without a kill (with --strict-puts, also one repeated
after a kill). Everything it starts is stopped by its process id, also on Ctrl-C or an error.
"""
import argparse
import datetime
import hashlib
import http.client
import json
import os
import random
import shutil
import sqlite3
import ssl
import statistics
import sys
import threading
import time

from gateway_process import ROOT, GatewayProcess
from upstream_process import RecordingUpstream


def study(case, day):
    return {"resourceType": "ImagingStudy", "id": f"cl-s-{case}",
            "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:1.2.826.0.7.{case}"}],
            "status": "available", "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}],
            "subject": {"reference": f"Patient/cl-{case}"}, "started": f"{day}T09:15:00Z",
            "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "C22.1"}]}]}


def adc(case, day, value):
    return {"resourceType": "Observation", "id": f"cl-a-{case}", "status": "final",
            "code": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "113041"}]},
            "subject": {"reference": f"Patient/cl-{case}"}, "effectiveDateTime": f"{day}T09:15:00Z",
            "bodySite": {"coding": [{"system": "http://snomed.info/sct", "code": "10200004"}]},
            "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": "10*-3.mm2/s"},
            "derivedFrom": [{"reference": f"ImagingStudy/cl-s-{case}"}]}


def adc_value(case, n):
    """The ADC value of version n of a case's Observation: rising with n, so never repeated."""
    return round(0.60 + (case % 10) * 0.1 + 0.013 * n, 3)


class Load:
    """The senders and what they were told. `sent[(type, id)]` lists every value sent, in order;
    `acknowledged[(type, id)]` the index in it of the last one answered 2xx."""

    def __init__(self, args, gateway, day):
        self.args, self.gateway, self.day = args, gateway, day
        self.context = ssl.create_default_context(cafile=f"{gateway.tls}/ca.crt")
        self.context.load_cert_chain(f"{gateway.tls}/client.crt", f"{gateway.tls}/client.key")
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.next_case = 0
        self.sent, self.acknowledged, self.cases = {}, {}, []
        self.counts = {"new cases acknowledged": 0, "updates acknowledged": 0, "answered non-2xx": 0, "cut off (no answer)": 0}
        self.refusals = {}
        self.threads = [threading.Thread(target=self.sender, args=(n,), daemon=True) for n in range(args.connections)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def sender(self, number):
        rng = random.Random(self.args.seed * 1000 + number)
        own = []  # this thread's acknowledged cases: only it updates them, so its order is theirs
        versions = {}
        connection = None
        interval = self.args.connections / self.args.rate
        next_send = time.monotonic()
        while not self.stop.is_set():
            next_send = max(next_send + interval, time.monotonic() - interval)
            pause = next_send - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            if own and rng.random() < self.args.update_share:
                case = rng.choice(own)
                versions[case] += 1
                value = adc_value(case, versions[case])
                key = ("Observation", f"cl-a-{case}")
                with self.lock:
                    self.sent[key].append(value)
                    index = len(self.sent[key]) - 1
                method, path, body, written = "PUT", f"/fhir/Observation/cl-a-{case}", adc(case, self.day, value), [(key, index)]
            else:
                with self.lock:
                    case = self.next_case
                    self.next_case += 1
                    value = adc_value(case, 0)
                    self.sent[("ImagingStudy", f"cl-s-{case}")] = [None]
                    self.sent[("Observation", f"cl-a-{case}")] = [value]
                body = {"resourceType": "Bundle", "type": "transaction", "entry": [
                    {"resource": study(case, self.day), "request": {"method": "PUT", "url": f"ImagingStudy/cl-s-{case}"}},
                    {"resource": adc(case, self.day, value), "request": {"method": "PUT", "url": f"Observation/cl-a-{case}"}}]}
                method, path = "POST", "/fhir"
                written = [(("ImagingStudy", f"cl-s-{case}"), 0), (("Observation", f"cl-a-{case}"), 0)]
            try:
                if connection is None:
                    connection = http.client.HTTPSConnection("127.0.0.1", self.gateway.port, context=self.context, timeout=30)
                connection.request(method, path, body=json.dumps(body).encode(),
                                   headers={"Content-Type": "application/fhir+json", "Prefer": "return=minimal"})
                response = connection.getresponse()
                text = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                if connection is not None:
                    connection.close()
                connection = None
                status, text = None, b""
            with self.lock:
                if status is not None and 200 <= status < 300:
                    for key, index in written:
                        self.acknowledged[key] = max(self.acknowledged.get(key, -1), index)
                    if method == "POST":
                        self.counts["new cases acknowledged"] += 1
                        self.cases.append(case)
                    else:
                        self.counts["updates acknowledged"] += 1
                elif status is None:
                    self.counts["cut off (no answer)"] += 1
                else:
                    self.counts["answered non-2xx"] += 1
                    reason = f"{status} {text[:160].decode(errors='replace')}"
                    self.refusals[reason] = self.refusals.get(reason, 0) + 1
            if status is not None and 200 <= status < 300 and method == "POST":
                own.append(case)
                versions[case] = 0
            if status is None:
                time.sleep(0.05)  # the daemon is down: try again shortly, with the next request


def stripped(resource):
    """An assessment as the upstream gets it: without the gateway's own id, versionId, lastUpdated."""
    resource = dict(resource)
    resource.pop("id", None)
    meta = {k: v for k, v in resource.pop("meta", {}).items() if k not in ("versionId", "lastUpdated")}
    if meta:
        resource["meta"] = meta
    return resource


def check(args, load, store_path, records, kill_marks):
    """The findings: (table rows, failures)."""
    db = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    failures = []
    rows = []

    # Acknowledged resources: present, with the last acknowledged value or a later one sent.
    resources = {(t, i): (v, json.loads(j)) for t, i, v, j in db.execute("SELECT type, id, version, json FROM resource")}
    lost = []
    for key, index in load.acknowledged.items():
        if key not in resources:
            lost.append(f"{key[0]}/{key[1]} acknowledged, not in the store")
            continue
        version, resource = resources[key]
        if key[0] == "Observation":
            value = resource.get("valueQuantity", {}).get("value")
            sent = load.sent[key]
            position = sent.index(value) if value in sent else -1
            if position < index:
                lost.append(f"{key[0]}/{key[1]} holds {value} (version {version}), the last acknowledged was {sent[index]}")
    assessments = {}
    for identifier, subject, version, text in db.execute("SELECT identifier, subject, version, json FROM assessment"):
        assessments[identifier] = (subject, version, json.loads(text))
    subjects = {subject for subject, _, _ in assessments.values()}
    for case in load.cases:
        if f"Patient/cl-{case}" not in subjects:
            lost.append(f"case cl-{case} acknowledged, no RiskAssessment in the store")
    rows.append(("resources acknowledged", len(load.acknowledged)))
    rows.append(("acknowledged writes lost", len(lost)))
    failures += lost

    # The outbox: everything delivered or superseded.
    outbox = list(db.execute("SELECT assessment_identifier, assessment_version, state FROM outbox ORDER BY sequence"))
    states = {}
    for _, _, state in outbox:
        states[state] = states.get(state, 0) + 1
    rows.append(("assessments in the store", len(assessments)))
    rows.append(("outbox entries", ", ".join(f"{n} {s}" for s, n in sorted(states.items()))))
    left = [row for row in outbox if row[2] not in ("delivered", "superseded")]
    if left:
        failures.append(f"{len(left)} deliveries not delivered: {left[:5]}")
    delivered_versions = {}
    for identifier, version, state in outbox:
        if state == "delivered":
            delivered_versions.setdefault(identifier, []).append(version)
    db.close()

    # The upstream: accepted PUTs by identifier, in order of receipt.
    def local(identifier):
        return identifier if identifier in assessments else identifier.split("|", 1)[-1]

    accepted = {}
    for index, record in enumerate(records["requests"]):
        if record.get("method") == "PUT" and 200 <= (record.get("answer") or 0) < 300:
            accepted.setdefault(local(record["identifier"]), []).append((index, record["sha256"]))
    upstream_resources = {local(k): v for k, v in records["resources"].items()}
    state_wrong = [i for i, (_, _, resource) in assessments.items() if upstream_resources.get(i) != stripped(resource)]
    extra = [i for i in upstream_resources if i not in assessments]
    per_subject = {}
    for resource in upstream_resources.values():
        subject = resource.get("subject", {}).get("reference")
        per_subject[subject] = per_subject.get(subject, 0) + 1
    duplicates = sum(count - 1 for count in per_subject.values() if count > 1)
    if duplicates:
        failures.append(f"{duplicates} RiskAssessments more than one per case at the upstream")
    rows.append(("upstream resources (one per identifier)", len(upstream_resources)))
    rows.append(("upstream state not the store's latest", len(state_wrong) + len(extra)))
    if state_wrong or extra:
        failures.append(f"upstream state differs from the store for {len(state_wrong)} assessments, "
                        f"{len(extra)} unknown identifiers: {(state_wrong + extra)[:5]}")

    # Versions: consecutive PUTs of one body are one version sent again.
    missing, after_kill, unexplained, versions_seen, puts = [], [], [], 0, 0
    for identifier in assessments:
        runs = []
        for index, digest in accepted.get(identifier, []):
            puts += 1
            if runs and runs[-1][0] == digest:
                previous = runs[-1][1][-1]
                (after_kill if any(previous < mark <= index for mark in kill_marks) else unexplained).append(identifier)
                runs[-1][1].append(index)
            else:
                runs.append((digest, [index]))
        versions_seen += len(runs)
        if len(runs) != len(delivered_versions.get(identifier, [])):
            missing.append(f"{identifier}: {len(delivered_versions.get(identifier, []))} versions delivered in the store, "
                           f"{len(runs)} distinct bodies accepted by the upstream")
    rows.append(("versions delivered (store) / distinct versions received (upstream)",
                 f"{sum(len(v) for v in delivered_versions.values())} / {versions_seen}"))
    rows.append(("versions never received or miscounted", len(missing)))
    rows.append(("PUTs accepted by the upstream", puts))
    rows.append(("duplicate deliveries at the upstream's state (a case held twice)", duplicates))
    rows.append(("PUTs of one version repeated after a kill (at-least-once window)", len(after_kill)))
    rows.append(("PUTs of one version repeated without a kill", len(unexplained)))
    failures += missing
    if unexplained:
        failures.append(f"{len(unexplained)} versions PUT again without a kill: {unexplained[:5]}")
    if after_kill and args.strict_puts:
        failures.append(f"{len(after_kill)} versions PUT again after a kill (--strict-puts)")
    return rows, failures


def self_check():
    """The comparison can fail: a store with a lost update, an acknowledged resource and case
    missing, and an upstream with a second assessment of one case and a version PUT twice without
    a kill between, each must come out as a failure (and the PUT with a kill between must not)."""
    import tempfile
    import types
    work = tempfile.mkdtemp(prefix="crash-loop-check-")
    path = os.path.join(work, "store.sqlite")
    try:
        db = sqlite3.connect(path)
        db.executescript("""CREATE TABLE resource (type TEXT, id TEXT, version INTEGER, json BLOB);
            CREATE TABLE assessment (identifier TEXT, subject TEXT, version INTEGER, json BLOB);
            CREATE TABLE outbox (sequence INTEGER PRIMARY KEY, assessment_identifier TEXT, assessment_version INTEGER, state TEXT);""")
        assessment = {"resourceType": "RiskAssessment", "id": "a", "meta": {"versionId": "2"}, "status": "amended",
                      "subject": {"reference": "Patient/cl-0"}}
        with db:
            db.execute("INSERT INTO resource VALUES ('ImagingStudy', 'cl-s-0', 1, '{}')")
            db.execute("INSERT INTO resource VALUES ('Observation', 'cl-a-0', 2, ?)", (json.dumps({"valueQuantity": {"value": 0.7}}),))
            db.execute("INSERT INTO assessment VALUES ('u1', 'Patient/cl-0', 2, ?)", (json.dumps(assessment),))
            db.execute("INSERT INTO outbox VALUES (1, 'u1', 1, 'delivered'), (2, 'u1', 2, 'delivered')")
        db.close()
        load = types.SimpleNamespace(
            acknowledged={("ImagingStudy", "cl-s-0"): 0, ("Observation", "cl-a-0"): 2, ("ImagingStudy", "cl-s-1"): 0},
            sent={("ImagingStudy", "cl-s-0"): [None], ("Observation", "cl-a-0"): [0.6, 0.7, 0.8], ("ImagingStudy", "cl-s-1"): [None]},
            cases=[0, 1])
        upstream = stripped(assessment)
        records = {"requests": [{"method": "PUT", "identifier": "s|u1", "answer": 201, "sha256": "v1"},
                                {"method": "PUT", "identifier": "s|u1", "answer": 200, "sha256": "v2"},
                                {"method": "PUT", "identifier": "s|u1", "answer": 200, "sha256": "v2"}],
                   "resources": {"s|u1": upstream, "s|u9": upstream}}
        args = types.SimpleNamespace(strict_puts=False)
        _, failures = check(args, load, path, records, kill_marks=[])
        expected = ["holds 0.7", "ImagingStudy/cl-s-1 acknowledged", "case cl-1 acknowledged", "more than one per case",
                    "unknown identifiers", "PUT again without a kill"]
        missed = [text for text in expected if not any(text in failure for failure in failures)]
        _, with_kill = check(args, load, path, records, kill_marks=[2])
        if any("PUT again" in failure for failure in with_kill):
            missed.append("a PUT repeated with a kill between was taken for one without")
        print("self-check: " + ("each planted fault is found" if not missed else f"NOT FOUND: {missed}"))
        return 1 if missed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None, help="default: drawn, and printed")
    parser.add_argument("--rate", type=float, default=40, help="requests per second in all")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--update-share", type=float, default=0.4, help="the share of requests that update an acknowledged case")
    parser.add_argument("--min-delay", type=float, default=1.0, help="seconds from readiness to a kill, at least")
    parser.add_argument("--max-delay", type=float, default=6.0, help="… and at most")
    parser.add_argument("--answer-delay", type=float, default=0.05, help="seconds the upstream holds each PUT once recorded")
    parser.add_argument("--ready-timeout", type=float, default=30)
    parser.add_argument("--drain-timeout", type=float, default=120)
    parser.add_argument("--strict-puts", action="store_true", help="also fail on a version PUT again after a kill")
    parser.add_argument("--port", type=int, default=19043)
    parser.add_argument("--metrics-port", type=int, default=19064)
    parser.add_argument("--keep", action="store_true", help="keep the store and the daemon's log (their folder is printed)")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/fhir-risk-gateway"))
    parser.add_argument("--self-check", action="store_true", help="only check that the comparison finds planted faults")
    args = parser.parse_args()
    if args.self_check:
        return self_check()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 1_000_000)
    rng = random.Random(args.seed)
    day = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    print(f"crash loop: seed {args.seed}, {args.kills} kills, {args.rate:g} requests/s over {args.connections} connections "
          f"({args.update_share:.0%} updates), kills {args.min_delay:g}-{args.max_delay:g} s after readiness, "
          f"upstream answer delay {args.answer_delay:g} s, binary {args.binary}", flush=True)

    upstream = RecordingUpstream(["--answer-delay", str(args.answer_delay)], prefix="crash-loop-upstream-")
    gateway = load = None
    failures = []
    try:
        delivery = "delivery: {initialBackoffSeconds: 1, maxBackoffSeconds: 5}\n"
        gateway = GatewayProcess(args.binary, args.port, args.metrics_port, prefix="crash-loop-",
                                 extra=upstream.gateway_configuration() + delivery, log=True)
        gateway.wait_ready(args.ready_timeout)
        load = Load(args, gateway, day)
        load.start()
        restarts, kill_marks, pending_at_kills = [], [], []
        for n in range(args.kills):
            time.sleep(rng.uniform(args.min_delay, args.max_delay))
            gateway.kill()
            killed = time.monotonic()
            # What the upstream had received when the daemon died: a PUT after this mark that
            # repeats one before it was sent again by the next daemon.
            kill_marks.append(upstream.records(summary=True)["requests"])
            with sqlite3.connect(f"file:{gateway.store}?mode=ro", uri=True, timeout=10) as db:
                pending_at_kills.append(db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0])
            gateway.start()
            gateway.wait_ready(args.ready_timeout)
            restarts.append(time.monotonic() - killed)
            print(f"kill {n + 1}: pid gone, {pending_at_kills[-1]} deliveries pending in the store, ready again in "
                  f"{restarts[-1]:.2f} s", flush=True)
        time.sleep(rng.uniform(args.min_delay, args.max_delay))  # load on the last daemon, too
        load.finish()
        drain_began = time.monotonic()
        while (gateway.metric("fhir_gateway_outbox_depth") or 0) > 0:
            if time.monotonic() - drain_began > args.drain_timeout:
                failures.append(f"the outbox did not drain within {args.drain_timeout:g} s")
                break
            time.sleep(0.2)
        drained = time.monotonic() - drain_began
        gateway.stop(remove=False)
        records = upstream.records()
        rows, found = check(args, load, gateway.store, records, kill_marks)
        failures += found

        print()
        summary = [("kills (SIGKILL at random moments)", len(restarts)),
                   ("seed", args.seed),
                   ("restart to /readyz, median / max", f"{statistics.median(restarts):.2f} s / {max(restarts):.2f} s"),
                   ("deliveries pending in the store at a kill, median / max",
                    f"{statistics.median(pending_at_kills):g} / {max(pending_at_kills)}")]
        summary += list(load.counts.items())
        summary.append(("outbox drained after the load", f"{drained:.1f} s"))
        summary += rows
        width = max(len(name) for name, _ in summary)
        for name, value in summary:
            print(f"{name:<{width}}  {value}")
        for reason, count in sorted(load.refusals.items(), key=lambda item: -item[1])[:5]:
            print(f"  non-2xx ×{count}: {reason}")
        lost = next(value for name, value in rows if name == "acknowledged writes lost")
        repeated = next(value for name, value in rows if name.startswith("PUTs of one version repeated without"))
        state = next(value for name, value in rows if name.startswith("duplicate deliveries at the upstream's state"))
        print(f"\n{len(restarts)} kills, {lost} acknowledged writes lost, {state} duplicate deliveries at the upstream "
              f"({repeated} PUTs repeated without a kill, "
              f"{next(v for n, v in rows if n.startswith('PUTs of one version repeated after'))} after a kill)")
        for failure in failures[:20]:
            print(f"FAIL: {failure}")
        if args.keep:
            print(f"kept: the store and the daemon's log (gateway.log) in {gateway.work}")
        return 1 if failures else 0
    finally:
        if load:
            load.stop.set()
        if gateway:
            gateway.stop(remove=not args.keep)
        upstream.stop()


if __name__ == "__main__":
    sys.exit(main())
