"""The servers a benchmark talks to, each in a process of its own so that its CPU is not the client's.

* ``DemoApi``: ``python -m demo_api --port 0 --rows contacts=N --quiet [--latency-ms L]`` (the demo CRM);
* ``Moto``: moto's server (S3 for spilled blocks, Secrets Manager for the AppFlow credentials), started with
  ``python -m moto.server``.

Both listen on 127.0.0.1 only and are stopped (terminate, then kill) when the ``with`` block ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import requests

REPO = Path(__file__).resolve().parents[1]
API_KEY = "demo-secret-key"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Process:
    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def __enter__(self) -> Any:
        return self.start()  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        self.stop()


class DemoApi(_Process):
    def __init__(self, rows: dict[str, int], latency_ms: float = 0.0, log: IO[str] | None = None) -> None:
        super().__init__()
        self.rows = rows
        self.latency_ms = latency_ms
        self.log = log
        self.base_url = ""

    def start(self) -> DemoApi:
        cmd = [sys.executable, "-m", "demo_api", "--port", "0", "--quiet", "--api-key", API_KEY]
        for entity, n in self.rows.items():
            cmd += ["--rows", f"{entity}={n}"]
        if self.latency_ms:
            cmd += ["--latency-ms", str(self.latency_ms)]
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=self.log, text=True)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if not first.startswith("Demo SaaS API:"):
            self.stop()
            raise RuntimeError(f"the demo API did not start: {first!r}")
        self.base_url = first.split()[-1]
        return self

    @property
    def root_url(self) -> str:
        return self.base_url.rsplit("/api/", 1)[0]


class Moto(_Process):
    def __init__(self, log: IO[str] | None = None) -> None:
        super().__init__()
        self.log = log
        self.endpoint = ""

    def start(self) -> Moto:
        port = free_port()
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, text=True, env={**os.environ, **AWS_ENV})
        self.endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.endpoint}/moto-api/", timeout=1)
                return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto's server did not start within 30 s")

    @property
    def env(self) -> dict[str, str]:
        return {**AWS_ENV, "AWS_ENDPOINT_URL": self.endpoint}

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=AWS_ENV["AWS_REGION"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def create_bucket(self, name: str) -> None:
        self.client("s3").create_bucket(Bucket=name)

    def create_secret(self, name: str, value: str) -> str:
        return str(self.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"])
