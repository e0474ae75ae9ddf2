"""The release daemon for the measuring scripts (load-test.py, connection-storm.py, crash-loop.py,
soak.py): started on loopback with fresh development certificates and a fresh store in a temporary
folder, waited for until /livez answers, and stopped (SIGTERM) with its folder removed. The crash
loop kills it (SIGKILL) and starts it again on the same configuration and store."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class GatewayProcess:
    def __init__(self, binary, port, metrics, mutual_tls=True, prefix="gateway-", extra="", postgres=None, log=None):
        """postgres: a postgres:// URL (a database on this host): the store is that database.
        log: a file the daemon's standard output and error are appended to, or True for gateway.log
        in its folder (default: discarded)."""
        self.binary, self.port, self.metrics, self.log = binary, port, metrics, log
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.tls = os.path.join(self.work, "tls")
        self.store = os.path.join(self.work, "state/gateway.sqlite")
        if log is True:
            self.log = os.path.join(self.work, "gateway.log")
        subprocess.run([os.path.join(ROOT, "scripts/dev-certificates.sh"), self.tls], check=True, stdout=subprocess.DEVNULL)
        client_ca = f", clientCA: {self.tls}/ca.crt" if mutual_tls else ""
        self.config = config = os.path.join(self.work, "gateway.yaml")
        with open(config, "w") as f:
            f.write(f"""server: {{host: 127.0.0.1, port: {port}}}
tls: {{certificate: {self.tls}/server.crt, privateKey: {self.tls}/server.key{client_ca}}}
storage: {{path: {self.store}{f", kind: postgresql, url: '{postgres}', tls: disable" if postgres else ""}}}
metrics: {{host: 127.0.0.1, port: {metrics}}}
model: {{path: {ROOT}/Config/models/sheng2022.yaml}}
profiles: {{path: {ROOT}/Profiles}}
{extra}""")
        self.start()

    def start(self):
        """Starts the daemon on this configuration and store; waits (10 s at most) for /livez."""
        output = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen([self.binary, "serve", "--config", self.config], stdout=output, stderr=output)
        if self.log:
            output.close()
        self.pid = self.process.pid
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.metrics}/livez", timeout=1)
                break
            except OSError:
                time.sleep(0.1)

    def wait_ready(self, timeout):
        """Waits until /readyz answers 200; raises TimeoutError (with its last answer) after
        `timeout` seconds, or RuntimeError if the daemon exits meanwhile."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the gateway exited with status {self.process.returncode} before it was ready")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics}/readyz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except urllib.error.HTTPError as error:
                last = f"{error.code} {error.read().decode(errors='replace').strip()}"
            except OSError as error:
                last = str(error)
            time.sleep(0.05)
        raise TimeoutError(f"the gateway was not ready within {timeout:g} s (last /readyz: {last})")

    def metric(self, name, having=""):
        """The sum of a metric's samples from /metrics (those whose labels contain `having`, such
        as 'result="delivered"'; all when empty), or None if there is none."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics}/metrics", timeout=5) as answer:
            values = [float(line.split()[-1]) for line in answer.read().decode().splitlines()
                      if line.startswith(name) and line[len(name):len(name) + 1] in (" ", "{") and having in line]
        return sum(values) if values else None

    def kill(self):
        """kill -9, as a power cut or the OOM killer would; waits for the process to be gone."""
        self.process.kill()
        self.process.wait(timeout=30)

    def resident_mb(self):
        with open(f"/proc/{self.pid}/status") as f:
            return int(next(line for line in f if line.startswith("VmRSS")).split()[1]) / 1024

    def stop(self, remove=True):
        """SIGTERM (the daemon drains and exits) if it runs; then, with `remove`, its folder goes."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # A store grows by about 100 MB a load run: leave nothing behind in /tmp.
        if remove:
            shutil.rmtree(self.work, ignore_errors=True)
