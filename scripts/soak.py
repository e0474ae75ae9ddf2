#!/usr/bin/env python3
"""Soak (not a test, an hour by default): whole cases at half of the maximum rate into the release
daemon, delivering to an upstream that fails 5 % of the time, with the daemon's resident memory,
open descriptors, write-ahead log and outbox sampled every minute, and a verdict on whether they
stay flat.

  scripts/soak.py [--minutes 60] [--interval 60] [--rate N] [--fail-rate 0.05] [--client wrk|python]
                  [--binary PATH]

The daemon (scripts/gateway_process.py, the SQLite store) delivers to the tests' HTTPS FHIR upstream
(Tests/Tools/upstream_fhir_server.py --fail-rate 0.05: that fraction of PUTs answered 503 or 500 at
random), which the gateway retries with its defaults, written out in its configuration:
delivery.maxAttempts 12, initialBackoffSeconds 1, maxBackoffSeconds 600 (exponential backoff with
full jitter). A delivery becomes a dead letter only after 12 failures in a row, 0.05^12 ≈ 2e-16 a
delivery, so the soak expects none.

The load is whole cases (a transaction with an eligible MR study and its ADC, a new patient each,
as scripts/load-test.py --cases sends them): from wrk (its Lua script from load-test.py, paced; TLS
without client certificates, as load-test.py runs it) or, with --client python or without wrk
installed (Debian's wrk package; scripts/install-deps.sh does not install it), from Python threads
with the client certificate.

--rate: cases per second. Without it, the script first measures the maximum: unpaced for
--measure-seconds (16 connections): the cases accepted a second, and the cases carried end to end a
second (those accepted, over the time from the start until the outbox is empty again: the intake,
the scoring and the delivery to this upstream, on the same cores); the lower is the maximum the
set-up sustains, and the soak runs at half of it (on the same store, after the outbox has drained).
The rate used and how it was chosen are printed.

Every --interval seconds: VmRSS (/proc/PID/status), open descriptors (/proc/PID/fd), the size of
gateway.sqlite-wal, fhir_gateway_outbox_depth and fhir_gateway_dead_letters, with the cases accepted
and delivered so far. The verdict, over the second half of the samples (the first half is warm-up:
caches, connection pools and the WAL reach their working size):
  resident memory  the least-squares slope, projected to an hour, at most 10 % of its median
  descriptors      the least-squares slope, projected to an hour, at most 10 descriptors
  WAL              at most 64 MiB at every sample (past 16,384 pages the daemon cuts it back)
  outbox depth     at most 10 seconds' worth of cases at every sample (the deliveries keep up)
  dead letters     none
Prints a table, the rule with its figures, and a one-line verdict; exit 1 if not flat, 2 if the run
gave fewer than 5 samples in its second half (too short to judge).
"""
import argparse
import datetime
import http.client
import importlib.util
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import threading
import time

from gateway_process import ROOT, GatewayProcess
from upstream_process import RecordingUpstream

spec = importlib.util.spec_from_file_location("load_test", os.path.join(ROOT, "scripts/load-test.py"))
load_test = importlib.util.module_from_spec(spec)
spec.loader.exec_module(load_test)

WAL_LIMIT = 64 * 1024 * 1024


class WrkLoad:
    """wrk posting whole cases (load-test.py's Lua script) for `seconds`, paced at `rate` unless 0."""

    def __init__(self, gateway, rate, seconds, connections, day, prefix):
        script = os.path.join(gateway.work, "load.lua")
        with open(script, "w") as f:
            f.write(load_test.WRK_SCRIPT)
        environment = dict(os.environ, LOAD_CASES="1", LOAD_DAY=day, LOAD_PREFIX=prefix)
        if rate:
            environment["LOAD_DELAY_MS"] = str(max(0, int(1000 * connections / rate) - 1))
        self.process = subprocess.Popen(
            ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "10s", "-s", script,
             f"https://127.0.0.1:{gateway.port}/"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)

    def finish(self):
        output, errors = self.process.communicate()
        line = next((line for line in output.splitlines() if line.startswith("RESULT")), None)
        if line is None:
            return f"wrk said no result: {errors.strip()[:200]}"
        fields = dict(item.split("=") for item in line.split()[1:])
        return f"wrk: {fields['requests']} requests, {fields['non2xx']} non-2xx, {fields['errors']} socket errors"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait()


class PythonLoad:
    """Python threads posting whole cases with the client certificate, paced at `rate` unless 0."""

    def __init__(self, gateway, rate, seconds, connections, day, prefix):
        self.counts = {"2xx": 0, "other": 0, "errors": 0}
        self.lock = threading.Lock()
        self.stop_at = time.monotonic() + seconds
        context = ssl.create_default_context(cafile=f"{gateway.tls}/ca.crt")
        context.load_cert_chain(f"{gateway.tls}/client.crt", f"{gateway.tls}/client.key")
        base = {"w": 10_000_000, "v": 20_000_000}[prefix]
        counter = [base]

        def sender():
            connection = None
            next_send = time.monotonic()
            while time.monotonic() < self.stop_at:
                if rate:
                    next_send += connections / rate
                    pause = next_send - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                with self.lock:
                    counter[0] += 1
                    i = counter[0]
                try:
                    if connection is None:
                        connection = http.client.HTTPSConnection("127.0.0.1", gateway.port, context=context, timeout=30)
                    connection.request("POST", "/fhir", body=load_test.case_bundle(i, day),
                                       headers={"Content-Type": "application/fhir+json", "Prefer": "return=minimal"})
                    response = connection.getresponse()
                    response.read()
                    key = "2xx" if 200 <= response.status < 300 else "other"
                except (OSError, http.client.HTTPException):
                    connection, key = None, "errors"
                with self.lock:
                    self.counts[key] += 1

        self.threads = [threading.Thread(target=sender, daemon=True) for _ in range(connections)]
        for thread in self.threads:
            thread.start()

    def finish(self):
        for thread in self.threads:
            thread.join()
        return f"python: {self.counts['2xx']} answered 2xx, {self.counts['other']} otherwise, {self.counts['errors']} errors"

    def stop(self):
        self.stop_at = 0


def slope_per_hour(samples):
    """The least-squares slope of (seconds, value) pairs, per hour."""
    if len(samples) < 2:
        return 0.0
    xs, ys = [s for s, _ in samples], [v for _, v in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return 3600 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / spread if spread else 0.0


def sample(gateway, began):
    pid = gateway.pid
    with open(f"/proc/{pid}/status") as f:
        rss = int(next(line for line in f if line.startswith("VmRSS")).split()[1]) / 1024
    wal = gateway.store + "-wal"
    return {
        "seconds": time.monotonic() - began,
        "rss": rss,
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "wal": (os.path.getsize(wal) if os.path.exists(wal) else 0) / (1024 * 1024),
        "depth": gateway.metric("fhir_gateway_outbox_depth") or 0,
        "dead": gateway.metric("fhir_gateway_dead_letters") or 0,
        "scored": gateway.metric("fhir_gateway_cases_scored_total") or 0,
        "delivered": gateway.metric("fhir_gateway_delivery_attempts_total", 'result="delivered"') or 0,
        "retries": gateway.metric("fhir_gateway_delivery_attempts_total", 'result="retry"') or 0,
    }


def measure_maximum(args, gateway, client, day):
    """The maximum: unpaced for --measure-seconds, the cases accepted a second, and the cases
    carried end to end a second (accepted, over the time from the start until the last of them was
    delivered and the outbox empty): the lower is what the set-up sustains."""
    before = sample(gateway, 0)
    began = time.monotonic()
    load = client(gateway, 0, args.measure_seconds, 16, day, "w")
    time.sleep(args.measure_seconds)
    print(load.finish())
    after = sample(gateway, 0)
    accepted = after["scored"] - before["scored"]
    intake = accepted / (time.monotonic() - began)
    deadline = time.monotonic() + 600
    while (gateway.metric("fhir_gateway_outbox_depth") or 0) > 0:
        if time.monotonic() > deadline:
            sys.exit("the outbox did not drain within 10 minutes of the measurement")
        time.sleep(0.2)
    return intake, accepted / (time.monotonic() - began)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--interval", type=float, default=60, help="seconds between samples")
    parser.add_argument("--rate", type=float, default=0, help="cases per second (default: half of the maximum, measured first)")
    parser.add_argument("--measure-seconds", type=float, default=20)
    parser.add_argument("--fail-rate", type=float, default=0.05, help="the share of PUTs the upstream fails (503 or 500)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--port", type=int, default=19143)
    parser.add_argument("--metrics-port", type=int, default=19164)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/fhir-risk-gateway"))
    args = parser.parse_args()
    if args.client == "wrk" and shutil.which("wrk") is None:
        sys.exit("--client wrk needs wrk: apt-get install wrk (or --client python)")
    client = WrkLoad if args.client == "wrk" else PythonLoad
    day = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()

    upstream = RecordingUpstream(["--fail-rate", str(args.fail_rate)], prefix="soak-upstream-")
    gateway = load = None
    try:
        delivery = "delivery: {maxAttempts: 12, initialBackoffSeconds: 1, maxBackoffSeconds: 600}\n"
        gateway = GatewayProcess(args.binary, args.port, args.metrics_port, mutual_tls=args.client == "python",
                                 prefix="soak-", extra=upstream.gateway_configuration() + delivery, log=True)
        gateway.wait_ready(30)
        if args.rate:
            rate, how = args.rate, "given with --rate"
        else:
            intake, end_to_end = measure_maximum(args, gateway, client, day)
            rate = max(1.0, min(intake, end_to_end) / 2)
            how = (f"half of the maximum measured over {args.measure_seconds:g} s unpaced: {intake:.0f} cases/s accepted, "
                   f"{end_to_end:.0f} cases/s accepted and delivered")
        print(f"soak: {args.minutes:g} min at {rate:.0f} cases/s ({how}), client {args.client}, {args.connections} connections, "
              f"upstream failing {args.fail_rate:.0%} of PUTs, sampled every {args.interval:g} s; binary {args.binary}", flush=True)
        print("delivery: maxAttempts 12, initialBackoffSeconds 1, maxBackoffSeconds 600 (full jitter)", flush=True)

        began = time.monotonic()
        load = client(gateway, rate, args.minutes * 60, args.connections, day, "v")
        first = sample(gateway, began)
        samples = [first]
        header = f"{'min':>6} {'scored':>9} {'delivered':>9} {'retries':>7} {'RSS MB':>7} {'fds':>4} {'WAL MB':>7} {'outbox':>6} {'dead':>4}"
        print(header, flush=True)

        def show(s):
            print(f"{s['seconds'] / 60:6.1f} {s['scored'] - first['scored']:9.0f} {s['delivered'] - first['delivered']:9.0f} "
                  f"{s['retries'] - first['retries']:7.0f} {s['rss']:7.1f} {s['fds']:4d} {s['wal']:7.1f} {s['depth']:6.0f} "
                  f"{s['dead']:4.0f}", flush=True)

        show(first)
        end = began + args.minutes * 60
        while True:
            due = began + len(samples) * args.interval
            if due > end + 1:
                break
            time.sleep(max(0, due - time.monotonic()))
            if gateway.process.poll() is not None:
                sys.exit(f"the gateway exited with status {gateway.process.returncode} during the soak (its log: {gateway.log})")
            samples.append(sample(gateway, began))
            show(samples[-1])
        print(load.finish())
        summary = upstream.records(summary=True)
        print(f"upstream: {summary['requests']} PUTs, answers {summary['answers']}, {summary['resources']} RiskAssessments kept")

        # The verdict over the second half.
        half = samples[len(samples) // 2:]
        seconds = half[-1]["seconds"] - half[0]["seconds"] if len(half) > 1 else 0
        rss_median = statistics.median(s["rss"] for s in half)
        rss_slope = slope_per_hour([(s["seconds"], s["rss"]) for s in half])
        fd_slope = slope_per_hour([(s["seconds"], s["fds"]) for s in half])
        wal_max = max(s["wal"] for s in half)
        depth_max = max(s["depth"] for s in half)
        dead = samples[-1]["dead"]
        achieved = (samples[-1]["scored"] - first["scored"]) / max(1, samples[-1]["seconds"])
        checks = [
            ("resident memory", rss_slope <= 0.10 * rss_median,
             f"{rss_slope:+.1f} MB/h (median {rss_median:.1f} MB, from {min(s['rss'] for s in half):.1f} to "
             f"{max(s['rss'] for s in half):.1f}); at most {0.10 * rss_median:.1f} MB/h"),
            ("descriptors", fd_slope <= 10,
             f"{fd_slope:+.1f}/h (from {min(s['fds'] for s in half)} to {max(s['fds'] for s in half)}); at most 10/h"),
            ("WAL", wal_max * 1024 * 1024 <= WAL_LIMIT, f"at most {wal_max:.1f} MiB; the limit 64 MiB"),
            ("outbox depth", depth_max <= 10 * rate, f"at most {depth_max:.0f}; the limit {10 * rate:.0f} (10 s of cases)"),
            ("dead letters", dead == 0, f"{dead:.0f}; the limit 0"),
        ]
        print(f"\nrule: over the second half ({len(half)} samples, {seconds / 60:.1f} min), achieved {achieved:.0f} cases/s")
        for name, ok, text in checks:
            print(f"  {name:<16} {'flat' if ok else 'NOT FLAT'}: {text}")
        failed = [name for name, ok, _ in checks if not ok]
        if len(half) < 5:
            print(f"verdict: none, the run is too short ({len(half)} samples in the second half, at least 5 are needed)")
            return 2
        print(f"verdict: {'flat' if not failed else 'not flat: ' + ', '.join(failed)} over {samples[-1]['seconds'] / 60:.1f} min at "
              f"{achieved:.0f} cases/s ({samples[-1]['scored'] - first['scored']:.0f} cases, "
              f"{samples[-1]['retries'] - first['retries']:.0f} retried deliveries)")
        return 1 if failed else 0
    finally:
        if load:
            load.stop()
        if gateway:
            gateway.stop()
        upstream.stop()


if __name__ == "__main__":
    sys.exit(main())
