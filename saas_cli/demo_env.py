"""The demo's world, with no account and no configuration: the demo CRM API and moto's S3 and Secrets
Manager on loopback, and the connectors configured through the environment variables a deployment sets
(``SAAS_SPEC``, ``SAAS_BASE_URL``, ``SAAS_SECRET_ARN``, ``spill_bucket``, ``spill_prefix``, ``AWS_ENDPOINT_URL``
with dummy credentials). AppFlow's connection secret holds the API key under AppFlow's own key name."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saas_cli import local_aws

SPILL_BUCKET = "saas-connectors-demo-spill"
LANDING_BUCKET = "saas-connectors-demo-landing"
ATHENA_SECRET = "saas-connectors/demo-crm"
APPFLOW_SECRET = "appflow!000000000000-saas-connectors-demo-profile"
ENV_KEYS = (
    "SAAS_SPEC",
    "SAAS_BASE_URL",
    "SAAS_SECRET_ARN",
    "SAAS_API_KEY",
    "SAAS_CREDENTIALS",
    "spill_bucket",
    "spill_prefix",
    "schema_name",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
)


@dataclass
class DemoEnvironment:
    scale: float = 0.1
    port: int = 0
    server: Any = None
    aws_endpoint: str = ""
    appflow_secret_arn: str = ""
    workdir: Path | None = None  # the demo's local files (the flow's watermark); removed on exit
    _saved: dict[str, str | None] | None = None

    @property
    def landing(self) -> str:
        return f"s3://{LANDING_BUCKET}/appflow"

    def __enter__(self) -> DemoEnvironment:
        from demo_api.server import DemoServer

        self._saved = {k: os.environ.get(k) for k in ENV_KEYS}
        self.server = DemoServer(port=self.port, scale=self.scale).start()
        self.workdir = Path(tempfile.mkdtemp(prefix="saas-demo-"))
        try:
            self.aws_endpoint = local_aws.use(None)
            os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = local_aws.DEFAULT_REGION
            for bucket in (SPILL_BUCKET, LANDING_BUCKET):
                local_aws.ensure_bucket(bucket)
            athena_arn = local_aws.put_secret(ATHENA_SECRET, json.dumps({"api_key": self.server.api_key}))
            self.appflow_secret_arn = local_aws.put_secret(APPFLOW_SECRET, json.dumps({"apiKey": self.server.api_key}))
            for key in ("SAAS_API_KEY", "SAAS_CREDENTIALS", "schema_name"):
                os.environ.pop(key, None)
            os.environ.update(
                {
                    "SAAS_SPEC": "demo",
                    "SAAS_BASE_URL": self.server.base_url,
                    "SAAS_SECRET_ARN": athena_arn,
                    "spill_bucket": SPILL_BUCKET,
                    "spill_prefix": "athena-spill",
                }
            )
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        for key, value in (self._saved or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
