"""The release daemon for the measuring scripts (load-test.py, connection-storm.py): started on
loopback with fresh development certificates and a fresh store in a temporary folder, waited for
until /livez answers, and stopped (SIGTERM) with its folder removed."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class GatewayProcess:
    def __init__(self, binary, port, metrics, mutual_tls=True, prefix="gateway-", extra="", postgres=None):
        """postgres: a postgres:// URL (a database on this host): the store is that database."""
        self.port, self.metrics = port, metrics
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.tls = os.path.join(self.work, "tls")
        self.store = os.path.join(self.work, "state/gateway.sqlite")
        subprocess.run([os.path.join(ROOT, "scripts/dev-certificates.sh"), self.tls], check=True, stdout=subprocess.DEVNULL)
        client_ca = f", clientCA: {self.tls}/ca.crt" if mutual_tls else ""
        config = os.path.join(self.work, "gateway.yaml")
        with open(config, "w") as f:
            f.write(f"""server: {{host: 127.0.0.1, port: {port}}}
tls: {{certificate: {self.tls}/server.crt, privateKey: {self.tls}/server.key{client_ca}}}
storage: {{path: {self.store}{f", kind: postgresql, url: '{postgres}', tls: disable" if postgres else ""}}}
metrics: {{host: 127.0.0.1, port: {metrics}}}
model: {{path: {ROOT}/Config/models/sheng2022.yaml}}
profiles: {{path: {ROOT}/Profiles}}
{extra}""")
        self.process = subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.process.pid
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{metrics}/livez", timeout=1)
                break
            except OSError:
                time.sleep(0.1)

    def resident_mb(self):
        with open(f"/proc/{self.pid}/status") as f:
            return int(next(line for line in f if line.startswith("VmRSS")).split()[1]) / 1024

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        # A store grows by about 100 MB a load run: leave nothing behind in /tmp.
        shutil.rmtree(self.work, ignore_errors=True)
