"""The tests' HTTPS FHIR upstream (Tests/Tools/upstream_fhir_server.py) for the measuring scripts
(crash-loop.py, soak.py): started on loopback with development certificates of its own in a
temporary folder, its record read from GET /_records, and stopped (SIGTERM) with its folder
removed. It checks every RiskAssessment against the R4 JSON schema (Python's jsonschema, which
scripts/install-deps.sh installs)."""
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.request

from gateway_process import ROOT

SERVER = os.path.join(ROOT, "Tests/Tools/upstream_fhir_server.py")
SCHEMA = os.path.join(ROOT, "Tests/Fixtures/fhir-examples/R4/schema/fhir.schema.json")


class RecordingUpstream:
    def __init__(self, arguments=(), prefix="upstream-"):
        """arguments: more of the server's options (--fail-rate 0.05, --answer-delay 0.05)."""
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.tls = os.path.join(self.work, "tls")
        subprocess.run([os.path.join(ROOT, "scripts/dev-certificates.sh"), self.tls], check=True, stdout=subprocess.DEVNULL)
        # Its stderr (a broken pipe when a killed gateway leaves an answer unread) goes to a file.
        self.errors = open(os.path.join(self.work, "stderr.log"), "wb")
        self.process = subprocess.Popen(
            [sys.executable, SERVER, "--port", "0", "--cert", f"{self.tls}/server.crt", "--key", f"{self.tls}/server.key",
             "--schema", SCHEMA, *arguments], stdout=subprocess.PIPE, stderr=self.errors, text=True)
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            sys.exit(f"the upstream did not start (is Python's jsonschema installed? scripts/install-deps.sh): {line!r}")
        self.port = int(line)
        self.context = ssl.create_default_context(cafile=f"{self.tls}/ca.crt")

    def gateway_configuration(self):
        """The gateway's `upstream` section for this server."""
        return f"upstream: {{baseURL: 'https://127.0.0.1:{self.port}', caCertificate: {self.tls}/ca.crt}}\n"

    def records(self, summary=False):
        path = "/_records?summary=1" if summary else "/_records"
        with urllib.request.urlopen(f"https://127.0.0.1:{self.port}{path}", context=self.context, timeout=120) as answer:
            return json.loads(answer.read())

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.errors.close()
        shutil.rmtree(self.work, ignore_errors=True)
