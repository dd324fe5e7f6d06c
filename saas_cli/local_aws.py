"""AWS on a laptop: moto's server in this process, on loopback, reached through boto3 as AWS would be.

One server per process (boto3 and powertools cache their clients, so the endpoint must not change under
them), started on first use and stopped at exit. ``use(services)`` points boto3 at it with the environment
variables a deployment would also understand: ``AWS_ENDPOINT_URL`` for every service, or
``AWS_ENDPOINT_URL_<SERVICE>`` for some (so, say, spill goes to the local S3 while nothing else changes).
Dummy credentials and a region are set only when none are configured.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
from typing import Any

DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}
DEFAULT_REGION = "us-east-1"
SERVICE_ENV = {"s3": "AWS_ENDPOINT_URL_S3", "secretsmanager": "AWS_ENDPOINT_URL_SECRETS_MANAGER"}

_lock = threading.Lock()
_server: Any = None
_endpoint: str | None = None


def endpoint() -> str:
    """Start moto's server (once per process) and return its URL."""
    global _server, _endpoint
    with _lock:
        if _endpoint is None:
            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            host, port = server.get_host_and_port()
            _server, _endpoint = server, f"http://{host}:{port}"
            atexit.register(_stop)
        return _endpoint


def _stop() -> None:
    global _server
    if _server is not None:
        with contextlib.suppress(Exception):  # best effort at exit
            _server.stop()
        _server = None


def _has_credentials() -> bool:
    try:
        import boto3

        return boto3.Session().get_credentials() is not None
    except Exception:
        return False


def use(services: tuple[str, ...] | None = None) -> str:
    """Point boto3 at the local server: every service (None), or only ``services`` (``s3``,
    ``secretsmanager``). Returns the endpoint URL."""
    url = endpoint()
    if services is None:
        os.environ["AWS_ENDPOINT_URL"] = url
        for key, value in DUMMY_CREDENTIALS.items():
            os.environ[key] = value
    else:
        for service in services:
            os.environ[SERVICE_ENV[service]] = url
        if not _has_credentials():
            os.environ.update(DUMMY_CREDENTIALS)
    os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])
    return url


def ensure_bucket(name: str) -> None:
    import boto3

    s3 = boto3.client("s3")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if name not in existing:
        s3.create_bucket(Bucket=name)


def put_secret(name: str, value: str) -> str:
    """Create (or update) a secret and return its ARN."""
    import boto3

    sm = boto3.client("secretsmanager")
    try:
        return str(sm.create_secret(Name=name, SecretString=value)["ARN"])
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=name, SecretString=value)
        return str(sm.describe_secret(SecretId=name)["ARN"])
