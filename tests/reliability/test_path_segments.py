"""Keys that are dot segments or empty never reach a URL path (issue 17, item 4).

Percent-encoding leaves ``.`` alone and HTTP clients resolve dot segments, so without a check a key ``..`` in
``/folders/{key}`` addresses ``/api/v1/`` and a parent key ``..`` in ``/folders/{parent.key}/notes`` reads
``/api/v1/notes``: another resource. A server on loopback serves string-keyed folders (some keyed ``.``, ``..``
or ``""``) and records the raw path of every request; through both Lambda entry points, no request may leave
the paths the spec addresses, and each refused key is a typed error naming the entity and the key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from werkzeug.wrappers import Request, Response

from appflow_connector import handler as appflow_handler
from athena_connector.wire import GetTableRequest, decode_schema
from tests.athena.connector.harness import CATALOG, IDENTITY, SPILL_BUCKET, Connector, table_name
from tests.reliability import drivers
from tests.support.fake_saas import serve

KEY = "path-test-key-5Rt8"
UNSAFE = [".", "..", ""]
FOLDERS = ["alpha", "../../admin", "a.b", *UNSAFE]

SPEC = """
version: 1
api:
  name: demo_crm  # the schema name the Athena harness uses
  base_url: {base}/api/v1
  auth: {{type: api_key, in: header, name: X-API-Key, value: "{{secret.api_key}}"}}
  timeout_s: {{connect: 2, read: 2}}
  retry: {{max_attempts: 1, base_delay_s: 0.01, max_delay_s: 0.01, retry_after_cap_s: 0.1}}
  pagination: {{type: none}}
entities:
  - name: folders
    path: /folders
    records: data
    primary_key: [key]
    fields:
      key: {{type: string, nullable: false, writable: true}}
      name: {{type: string, writable: true}}
    get: {{path: "/folders/{{key}}"}}
    write:
      update: {{method: PATCH, path: "/folders/{{key}}"}}
      upsert: {{method: PUT, path: "/folders/{{key}}"}}
  - name: notes
    path: "/folders/{{parent.key}}/notes"
    records: data
    primary_key: [id]
    parent: {{entity: folders, fields: {{folder_key: key}}}}
    fields:
      id: {{type: int64, nullable: false}}
      folder_key: {{type: string, nullable: false}}
      text: string
"""


@dataclass
class Recorder:
    """Folders and their notes; every request's raw path (as it came over the wire) is kept."""

    folders: list[str]
    paths: list[str] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
        self.paths.append(f"{request.method} {raw.split('?')[0]}")
        if request.headers.get("X-API-Key") != KEY:
            return Response("{}", 401, content_type="application/json")(environ, start_response)
        path = request.path
        if path == "/api/v1/folders":
            body: Any = {"data": [{"key": k, "name": f"folder {k!r}"} for k in self.folders]}
        elif path.startswith("/api/v1/folders/") and path.endswith("/notes"):
            key = path[len("/api/v1/folders/") : -len("/notes")]
            base = 10 * (len(self.paths) + 1)  # ids unique across folders
            body = {"data": [{"id": base + i, "text": f"note {i} of {key}"} for i in (1, 2)]}
        elif path.startswith("/api/v1/folders/"):
            body = {"key": path[len("/api/v1/folders/") :], "name": "x"}
        else:  # anything else is another resource: answer like one, so only the recorded path tells
            body = {"data": [{"id": 99, "key": "other", "text": "other resource"}], "key": "other"}
        return Response(json.dumps(body), content_type="application/json")(environ, start_response)

    def foreign(self) -> list[str]:
        """Requests outside the list, one folder (get/write) and one folder's notes."""
        out = []
        for entry in self.paths:
            _, path = entry.split(" ", 1)
            parts = path.split("/")
            ok = path == "/api/v1/folders" or (
                len(parts) in (5, 6)
                and parts[:4] == ["", "api", "v1", "folders"]
                and parts[4] not in ("", ".", "..", "%2E", "%2e", "%2E%2E", "%2e%2e")
                and (len(parts) == 5 or parts[5] == "notes")
            )
            if not ok:
                out.append(entry)
        return out


class Secrets:
    """The AppFlow connector's Secrets Manager seam: every ARN holds the test key."""

    def get(self, secret_arn: str, *, max_age_s: int) -> dict[str, str]:
        return {"apiKey": KEY}

    def invalidate(self, secret_arn: str) -> None:
        return None


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    from athena_connector.runtime import reset_runtime

    recorder = Recorder(list(FOLDERS))
    with serve(recorder) as base:
        spec = tmp_path / "strkeys.yaml"
        spec.write_text(SPEC.format(base=base))
        for name in ("SAAS_SECRET_ARN", "SAAS_CREDENTIALS", "SAAS_ALLOWED_BASE_URLS", "SAAS_BASE_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("SAAS_SPEC", str(spec))
        monkeypatch.setenv("SAAS_API_KEY", KEY)
        monkeypatch.setenv("spill_bucket", SPILL_BUCKET)
        monkeypatch.setattr(appflow_handler.HANDLER.runtime, "secrets", Secrets())
        reset_runtime()
        yield recorder
        reset_runtime()


def _appflow(event_type: str, **body: Any) -> dict[str, Any]:
    event = {
        "type": event_type,
        "connectorContext": {
            "apiVersion": "v1",
            "connectorRuntimeSettings": {},
            "credentials": {"secretArn": drivers.SECRET_ARN, "authenticationType": "ApiKey"},
        },
        **body,
    }
    response = appflow_handler.lambda_handler(json.loads(json.dumps(event)), drivers.AppFlowContext(20))
    return json.loads(json.dumps(response))


@pytest.mark.parametrize("key", UNSAFE)
def test_appflow_retrieve_refuses_dot_and_empty_keys(api: Recorder, key: str) -> None:
    response = _appflow("RetrieveDataRequest", entityIdentifier="folders", ids=["alpha", key], idFieldName="key")
    assert response["isSuccess"] is False
    details = response["errorDetails"]
    assert details["errorCode"] == "InvalidArgument"
    assert "folders" in details["errorMessage"] and "key 'key'" in details["errorMessage"]
    assert api.foreign() == []
    assert "GET /api/v1/folders/alpha" in api.paths  # the valid key before it was read


@pytest.mark.parametrize("operation", ["UPDATE", "UPSERT"])
@pytest.mark.parametrize("key", UNSAFE)
def test_appflow_writes_refuse_dot_and_empty_keys(api: Recorder, key: str, operation: str) -> None:
    records = [json.dumps({"key": k, "name": "renamed"}) for k in ("alpha", key, "a.b")]
    response = _appflow(
        "WriteDataRequest", entityIdentifier="folders", operation=operation, idFieldNames=["key"], records=records
    )
    results = response["writeRecordResults"]
    assert [r["isSuccess"] for r in results] == [True, False, True]
    assert "folders" in results[1]["errorMessage"] and "key 'key'" in results[1]["errorMessage"]
    assert response["isSuccess"] is False and response["errorDetails"]["errorCode"] == "PartialWriteFailure"
    method = "PATCH" if operation == "UPDATE" else "PUT"
    assert api.foreign() == []
    assert f"{method} /api/v1/folders/alpha" in api.paths and f"{method} /api/v1/folders/a.b" in api.paths


def test_appflow_child_read_refuses_a_dot_parent_key(api: Recorder) -> None:
    response = _appflow("QueryDataRequest", entityIdentifier="notes", maxResults=100)
    assert response["isSuccess"] is False
    details = response["errorDetails"]
    assert details["errorCode"] == "InvalidArgument"
    assert "notes" in details["errorMessage"] and "parent key 'key'" in details["errorMessage"]
    assert api.foreign() == []


def test_appflow_encodes_other_keys_as_one_segment(api: Recorder) -> None:
    api.folders = ["alpha", "../../admin", "a.b"]
    response = _appflow("RetrieveDataRequest", entityIdentifier="folders", ids=["../../admin"], idFieldName="key")
    assert response["isSuccess"] is True
    assert "GET /api/v1/folders/..%2F..%2Fadmin" in api.paths
    run = _appflow("QueryDataRequest", entityIdentifier="notes", maxResults=100)
    assert run["isSuccess"] is True and len(run["records"]) == 6
    assert api.foreign() == []


def test_athena_child_read_refuses_a_dot_parent_key(api: Recorder, aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = boto3.client("s3")
    if SPILL_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=SPILL_BUCKET)
    connector = Connector(None, monkeypatch)
    out = connector.invoke(GetTableRequest(IDENTITY, "q-meta", CATALOG, table_name("notes")))
    schema = decode_schema(out["schema"])
    splits, _ = connector.splits("notes")
    errors: list[str] = []
    for split in splits:
        try:
            connector.read_split("notes", split, schema)
        except Exception as exc:  # the handler raises the typed error Athena shows
            errors.append(f"{type(exc).__name__}: {exc}")
    assert errors, "a split holding the parent key '..' must fail"
    assert all(e.startswith("InvalidResponseException") for e in errors), errors
    assert all("notes" in e and "parent key 'key'" in e for e in errors), errors
    assert "GET /api/v1/folders/alpha/notes" in api.paths  # parents before the bad one were read
    assert api.foreign() == []
