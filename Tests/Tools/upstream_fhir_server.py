#!/usr/bin/env python3
"""A real HTTPS FHIR endpoint for the end-to-end tests: it receives the gateway's RiskAssessments
as conditional updates (PUT /RiskAssessment?identifier=system|value), checks each one against the
official R4 JSON schema, and keeps them by identifier, recording every request.

  upstream_fhir_server.py --port P --cert C --key K --schema fhir.schema.json [--client-ca CA]
                          [--fail-first N] [--fail-rate F] [--reject-subject Patient/x] [--token T] [--answer-delay S]
                          [--auth-server https://127.0.0.1:PORT --auth-ca CA]

GET /_records answers the record as JSON: {"requests": [...], "resources": {identifier: resource}};
each PUT's record carries the SHA-256 of its body ("sha256"), so that a resend of one version can
be told from a new one. --fail-rate F answers that fraction of PUTs (at random, after --fail-first)
503 or 500, as an upstream that fails now and then; GET /_records?summary=1 leaves out the
requests and resources and gives their counts by answer (for long runs).
With --auth-server (a SMART authorization server, Tests/Tools/smart_auth_server.py, trusted with
--auth-ca) it serves GET /.well-known/smart-configuration (token_endpoint = that URL + /token) and
checks every PUT's bearer token with the server's /introspect: missing, unknown, expired or revoked
tokens and tokens without RiskAssessment write scope are answered 401 (the record says which: "auth").
Binds 127.0.0.1 only. Writes its port to stdout when ready.
"""
import argparse
import hashlib
import json
import random
import signal
import ssl
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema

# The scopes that allow a PUT of a RiskAssessment (SMART v1 and v2 grammar).
WRITE_SCOPES = {"system/RiskAssessment.write", "system/RiskAssessment.cu", "system/RiskAssessment.*", "system/*.write",
                "system/*.cu", "system/*.*"}


def smart_configuration(auth_server):
    return {
        "token_endpoint": auth_server + "/token",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["client_credentials"],
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
        "scopes_supported": ["system/RiskAssessment.write", "system/RiskAssessment.cu"],
    }


def check_bearer(authorization, auth_server, context):
    """None when the Authorization header carries an active token with write scope, else why not."""
    if not authorization or not authorization.startswith("Bearer "):
        return "missing"
    token = authorization[len("Bearer "):].strip()
    url = auth_server + "/introspect?" + urllib.parse.urlencode({"token": token})
    try:
        with urllib.request.urlopen(url, context=context, timeout=5) as answer:
            introspection = json.load(answer)
    except (OSError, ValueError) as error:
        return f"introspection failed: {error}"
    if not introspection.get("active"):
        return introspection.get("reason", "inactive")
    if not WRITE_SCOPES.intersection((introspection.get("scope") or "").split()):
        return "scope"
    return None


def main():
    # A parent may start us with SIGTERM blocked (threads of libdispatch block signals and the
    # mask is inherited); the tests stop us with SIGTERM.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--client-ca")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--fail-rate", type=float, default=0,
                        help="the fraction of PUTs (0 to 1) answered 503 or 500 at random")
    parser.add_argument("--reject-subject")
    parser.add_argument("--token")
    parser.add_argument("--answer-delay", type=float, default=0,
                        help="seconds each PUT waits, once recorded, before it is handled (deliveries in flight)")
    parser.add_argument("--auth-server")
    parser.add_argument("--auth-ca")
    args = parser.parse_args()
    auth_server = args.auth_server.rstrip("/") if args.auth_server else None
    auth_context = ssl.create_default_context(cafile=args.auth_ca) if auth_server else None

    with open(args.schema, encoding="utf-8") as f:
        schema = json.load(f)
    validator = jsonschema.Draft6Validator(
        {"$schema": schema.get("$schema"), "definitions": schema["definitions"], "$ref": "#/definitions/RiskAssessment"}
    )
    lock = threading.Lock()
    state = {"requests": [], "resources": {}, "failures_left": args.fail_first}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def answer(self, status, body, content_type="application/fhir+json"):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def outcome(self, status, text):
            self.answer(status, {"resourceType": "OperationOutcome",
                                 "issue": [{"severity": "error", "code": "invalid", "diagnostics": text}]})

        def do_GET(self):
            if self.path == "/_records":
                with lock:
                    self.answer(200, {"requests": state["requests"], "resources": state["resources"]}, "application/json")
            elif self.path == "/_records?summary=1":
                with lock:
                    answers = {}
                    for record in state["requests"]:
                        key = str(record.get("answer"))
                        answers[key] = answers.get(key, 0) + 1
                    self.answer(200, {"requests": len(state["requests"]), "answers": answers,
                                      "resources": len(state["resources"])}, "application/json")
            elif self.path == "/.well-known/smart-configuration" and auth_server:
                # Discovery needs no authorization.
                with lock:
                    state["requests"].append({"method": "GET", "path": self.path, "answer": 200})
                self.answer(200, smart_configuration(auth_server), "application/json")
            elif self.path == "/metadata":
                # As FHIR servers do, the CapabilityStatement needs no authorization.
                self.answer(200, {"resourceType": "CapabilityStatement", "status": "active", "date": "2026-01-01",
                                  "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"]}, "application/fhir+json")
            else:
                self.outcome(404, "not found")

        def do_PUT(self):
            url = urllib.parse.urlparse(self.path)
            query = urllib.parse.parse_qs(url.query)
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            record = {"method": "PUT", "path": url.path, "identifier": query.get("identifier", [""])[0],
                      "contentType": self.headers.get("Content-Type"), "authorization": self.headers.get("Authorization"),
                      "sha256": hashlib.sha256(body).hexdigest()}
            with lock:
                state["requests"].append(record)
            if args.answer_delay:
                time.sleep(args.answer_delay)
            with lock:
                if state["failures_left"] > 0:
                    state["failures_left"] -= 1
                    record["answer"] = 503
                    self.outcome(503, "temporarily unavailable (test)")
                    return
                if args.fail_rate and random.random() < args.fail_rate:
                    status = random.choice((500, 503))
                    record["answer"] = status
                    self.outcome(status, "failed at random (test)")
                    return
            if args.token and self.headers.get("Authorization") != f"Bearer {args.token}":
                record["answer"] = 401
                self.outcome(401, "missing or wrong bearer token")
                return
            if auth_server:
                refused = check_bearer(self.headers.get("Authorization"), auth_server, auth_context)
                record["auth"] = refused or "ok"
                if refused:
                    record["answer"] = 401
                    self.outcome(401, f"bearer token refused: {refused}")
                    return
            if url.path != "/RiskAssessment" or "|" not in record["identifier"]:
                record["answer"] = 400
                self.outcome(400, "expected a conditional update PUT /RiskAssessment?identifier=system|value")
                return
            try:
                resource = json.loads(body)
            except ValueError as error:
                record["answer"] = 400
                self.outcome(400, f"not JSON: {error}")
                return
            errors = [e.message for e in validator.iter_errors(resource)]
            identifiers = [f"{i.get('system')}|{i.get('value')}" for i in resource.get("identifier", [])]
            if errors:
                record["answer"] = 400
                record["schemaErrors"] = errors
                self.outcome(400, "; ".join(errors[:5]))
                return
            if record["identifier"] not in identifiers:
                record["answer"] = 400
                self.outcome(400, "the identifier in the URL is not the resource's")
                return
            if args.reject_subject and resource.get("subject", {}).get("reference") == args.reject_subject:
                record["answer"] = 400
                self.outcome(400, f"subject {args.reject_subject} is refused by this server (test)")
                return
            with lock:
                created = record["identifier"] not in state["resources"]
                state["resources"][record["identifier"]] = resource
                record["answer"] = 201 if created else 200
            self.answer(201 if created else 200, resource)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        context.load_verify_locations(args.client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
