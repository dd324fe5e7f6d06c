"""Packaging: what each Lambda package contains, the size check (and that it fails past a budget), and the built
packages actually serving Athena and AppFlow requests under CPython 3.12 (the runtime's Python, no Docker)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy import build_function, package_sizes
from deploy.lambda_packages import FUNCTIONS, MIB, RUNTIME_PROVIDED, requirements
from tests.deploy.cfn import REPO, environment_of, load_template
from tests.deploy.tools import python312, run, sam_command

SIZE_SCRIPT = REPO / "deploy" / "package_sizes.py"
RELAY = (Path(__file__).parent / "lambda_relay.py").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------------
# Fast: requirements, trimming and the size check on fake packages
# ---------------------------------------------------------------------------------------------------
def test_requirements_come_from_pyproject_without_the_runtime_sdk(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        """
[project]
name = "saas-connectors"
dependencies = ["requests>=2", "boto3>=1.34", "PyYAML"]
[project.optional-dependencies]
athena = ["pyarrow>=17", "Botocore"]
appflow = ["custom-connector-sdk==1.0.5"]
all = ["saas-connectors[athena,appflow]"]
"""
    )
    assert requirements(FUNCTIONS["athena"], pyproject) == ["requests>=2", "PyYAML", "pyarrow>=17"]
    assert requirements(FUNCTIONS["appflow"], pyproject) == ["requests>=2", "PyYAML", "custom-connector-sdk==1.0.5"]
    broken = tmp_path / "broken.toml"
    broken.write_text('[project]\nname = "x"\ndependencies = []\n')
    with pytest.raises(KeyError, match=r"no extra \[athena\]"):
        requirements(FUNCTIONS["athena"], broken)


def test_the_real_requirements() -> None:
    athena = requirements(FUNCTIONS["athena"])
    appflow = requirements(FUNCTIONS["appflow"])
    names = lambda reqs: {r.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in reqs}  # noqa: E731
    assert {"pyarrow", "cryptography"} <= names(athena)
    assert {"custom-connector-sdk", "antlr4-python3-runtime"} <= names(appflow)
    assert "pyarrow" not in names(appflow)
    assert not names(athena + appflow) & set(RUNTIME_PROVIDED)


def _fake_pyarrow(root: Path) -> Path:
    pkg = root / "pyarrow"
    for relative, size in {
        "__init__.py": 10,
        "lib.cpython-312-x86_64-linux-gnu.so": 100,
        "libarrow.so.2600": 1000,
        "libarrow_python.so": 300,
        "libarrow_python.so.2600": 300,
        "libarrow_python.so.2600.1.0": 300,
        "libarrow_flight.so.2600": 800,
        "_flight.cpython-312-x86_64-linux-gnu.so": 50,
        "flight.py": 5,
        "libarrow_s3.so.2600": 600,
        "_s3fs.cpython-312-x86_64-linux-gnu.so": 40,
        "_compute.cpython-312-x86_64-linux-gnu.so": 90,
        "lib.pyx": 70,
        "tests/test_x.py": 500,
        "include/arrow/api.h": 400,
    }.items():
        path = pkg / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x7fELF" + b"x" * size if ".so" in relative else b"x" * size)
    return pkg


def test_trim_pyarrow_drops_what_the_connector_never_loads(tmp_path: Path) -> None:
    pkg = _fake_pyarrow(tmp_path)
    saved = build_function.trim_pyarrow(tmp_path)
    left = sorted(p.relative_to(pkg).as_posix() for p in pkg.rglob("*") if p.is_file())
    assert left == [
        "__init__.py",
        "_compute.cpython-312-x86_64-linux-gnu.so",
        "lib.cpython-312-x86_64-linux-gnu.so",
        "libarrow.so.2600",
        "libarrow_python.so.2600",  # the soname the extension modules load; its twin copies are gone
    ]
    assert saved > 0


def _fake_build(
    root: Path, athena_mib: float = 2.0, appflow_mib: float = 1.0, appflow_extra: tuple[str, ...] = ()
) -> Path:
    """A .aws-sam/build look-alike: each function with its handler module and required distributions."""
    for fn in FUNCTIONS.values():
        pkg = root / fn.logical_id
        module = pkg / (fn.handler.rsplit(".", 1)[0].replace(".", "/") + ".py")
        module.parent.mkdir(parents=True)
        module.write_text("def lambda_handler(event, context):\n    return {}\n")
        for dist in (*fn.required, *(appflow_extra if fn.name == "appflow" else ())):
            (pkg / f"{dist.replace('-', '_')}-1.0.dist-info").mkdir()
    (root / "AthenaConnectorFunction" / "pyarrow").mkdir()
    (root / "AthenaConnectorFunction" / "pyarrow" / "libarrow.so.2600").write_bytes(b"x" * int(athena_mib * MIB))
    (root / "AppFlowConnectorFunction" / "antlr4").mkdir()
    (root / "AppFlowConnectorFunction" / "antlr4" / "big.py").write_bytes(b"#" * int(appflow_mib * MIB))
    return root


def test_size_check_passes_within_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build = _fake_build(tmp_path)
    assert package_sizes.main(["--build-dir", str(build)]) == 0
    out = capsys.readouterr().out
    assert "AthenaConnectorFunction" in out and "AppFlowConnectorFunction" in out and "FAIL" not in out


def test_size_check_fails_when_a_function_grows_past_its_budget(tmp_path: Path) -> None:
    build = _fake_build(tmp_path, athena_mib=3.0)
    reports = {f.name: package_sizes.inspect(f, build, budget_mib=2.5) for f in FUNCTIONS.values()}
    assert not reports["athena"].ok and "over its budget of 2.5 MiB" in reports["athena"].problems[0]
    assert package_sizes.main(["--build-dir", str(build), "--budget", "athena=2.5"]) == 1
    # the script itself, as CI runs it
    result = subprocess.run(
        [sys.executable, str(SIZE_SCRIPT), "--build-dir", str(build), "--budget", "appflow=0.5", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    report = {r["function"]: r for r in json.loads(result.stdout)}
    assert report["appflow"]["ok"] is False and report["athena"]["ok"] is True
    assert report["appflow"]["problems"] == ["1.0 MiB is over its budget of 0.5 MiB"]


def test_size_check_fails_on_the_default_budget(tmp_path: Path) -> None:
    over = FUNCTIONS["athena"].budget_mib + 1
    build = _fake_build(tmp_path, athena_mib=over)
    assert package_sizes.main(["--build-dir", str(build)]) == 1


def test_size_check_fails_when_appflow_carries_pyarrow(tmp_path: Path) -> None:
    build = _fake_build(tmp_path, appflow_extra=("pyarrow",))
    report = package_sizes.inspect(FUNCTIONS["appflow"], build)
    assert report.problems == ["contains pyarrow, which this function must not carry"]
    assert package_sizes.main(["--build-dir", str(build)]) == 1


def test_size_check_says_when_nothing_is_built(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert package_sizes.main(["--build-dir", str(tmp_path / "nothing")]) == 2
    assert "not built" in capsys.readouterr().out


def test_build_refuses_to_overwrite_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(build_function.BuildError, match="not empty"):
        build_function.build(FUNCTIONS["appflow"], tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


# ---------------------------------------------------------------------------------------------------
# Slow: the real `sam build` (Makefile builds, no Docker), its sizes, and the packages serving requests
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sam_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` into a fresh directory; DEPLOY_TEST_BUILD_DIR=.aws-sam/build reuses a build made just before."""
    reuse = os.environ.get("DEPLOY_TEST_BUILD_DIR")
    if reuse:
        return Path(reuse).resolve()
    build = tmp_path_factory.mktemp("sam") / "build"
    started = time.monotonic()
    result = run([*sam_command(), "build", "--template-file", "template.yaml", "--build-dir", str(build)], timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    print(f"sam build: {time.monotonic() - started:.1f} s")
    return build


@pytest.mark.slow
def test_sam_build_packages_are_within_budget(sam_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert package_sizes.main(["--build-dir", str(sam_build)]) == 0
    print(capsys.readouterr().out)  # shown with -s / on failure: the measured sizes
    athena, appflow = (sam_build / FUNCTIONS[n].logical_id for n in ("athena", "appflow"))
    for package in (athena, appflow):
        manifest = json.loads((package / build_function.MANIFEST).read_text())
        assert manifest["python"] == "3.12" and manifest["architecture"] == "x86_64"
        for provided in RUNTIME_PROVIDED:
            assert not (package / provided).exists(), f"{provided} is provided by the Lambda runtime"
        pycs = list(package.rglob("*.pyc"))
        if python312() is None:  # nothing to compile for the runtime with: source only
            assert manifest["bytecode"] is None and not pycs
        else:
            assert manifest["bytecode"] == "CPython 3.12 checked-hash .pyc"
            assert pycs and all(p.name.endswith(".cpython-312.pyc") for p in pycs)
            header = (package / "shared" / "__pycache__" / "client.cpython-312.pyc").read_bytes()[:8]
            assert int.from_bytes(header[4:8], "little") == 0b11  # PEP 552: hash-based, checked against the source
        assert (package / "shared" / "specs" / "demo.yaml").is_file()  # bundled specs travel with the code
    assert not (appflow / "pyarrow").exists() and not list(appflow.glob("pyarrow*"))
    assert not (appflow / "athena_connector").exists() and not (athena / "appflow_connector").exists()
    assert (athena / "pyarrow").is_dir() and (athena / "cryptography").is_dir()
    assert not list((athena / "pyarrow").glob("libarrow_flight*")) and not (athena / "pyarrow" / "tests").exists()


@pytest.mark.slow
def test_size_check_fails_on_the_real_build_past_a_budget(sam_build: Path) -> None:
    assert package_sizes.main(["--build-dir", str(sam_build), "--budget", "athena=50"]) == 1


# -- the built packages, invoked like Lambda does ---------------------------------------------------
TEMPLATE = load_template()


def _lambda_environment(logical_id: str, overrides: dict[str, str]) -> dict[str, str]:
    """The function's variables as the template sets them (parameter defaults), test values where the template
    computes them (bucket, secret, base URL)."""
    parameters = TEMPLATE["Parameters"]
    env: dict[str, str] = {}
    for name, value in environment_of(TEMPLATE, logical_id).items():
        if name in overrides:
            env[name] = overrides[name]
        elif isinstance(value, str):
            env[name] = value
        elif isinstance(value, dict) and set(value) == {"Ref"}:
            env[name] = str(parameters[value["Ref"]]["Default"])
    return env


class LambdaProcess:
    """The package under the runtime's Python, invoked over the relay (see lambda_relay.py)."""

    def __init__(self, package: Path, handler: str, env: dict[str, str], sdk: Path, log: Path) -> None:
        self._stderr = log.open("w")
        base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(sdk), "LANG": "C.UTF-8", "LAMBDA_TASK_ROOT": str(package)}
        self.proc = subprocess.Popen(
            [str(python312()), "-s", "-B", "-c", RELAY, handler],
            cwd=package,
            env={**base, **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.log = log
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"the function died: {self.log.read_text()[-4000:]}"
        return json.loads(line)

    def invoke(self, event: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"event": event}) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        assert "response" in answer, (
            f"{answer.get('errorType')}: {answer.get('errorMessage')}\n{answer.get('stackTrace')}"
        )
        return answer["response"]

    def origins(self) -> dict[str, str]:
        assert self.proc.stdin is not None
        self.proc.stdin.write('{"origins": true}\n')
        self.proc.stdin.flush()
        return self._read()["origins"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self._stderr.close()


@pytest.fixture(scope="module")
def runtime_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """boto3 as the Lambda runtime provides it (outside the package, after it on sys.path)."""
    if python312() is None:
        pytest.skip(
            "no CPython 3.12 here (looked at $LAMBDA_PYTHON312, PATH, pyenv, uv, /usr/bin): the packages hold "
            "cp312 manylinux binaries that load only under the python3.12 runtime's interpreter"
        )
    sdk = tmp_path_factory.mktemp("runtime-sdk")
    result = run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(sdk), "--only-binary=:all:", "--no-compile",
         "--platform", "manylinux2014_x86_64", "--python-version", "3.12", "--implementation", "cp", "boto3"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return sdk


@pytest.fixture
def demo() -> Iterator[Any]:
    from demo_api.server import DemoServer

    with DemoServer(port=0, rows={"accounts": 30, "contacts": 40, "deals": 10}) as srv:
        yield srv


@pytest.mark.slow
def test_built_athena_package_serves_a_query_and_spills_encrypted(
    sam_build: Path, runtime_sdk: Path, demo: Any, aws: str, tmp_path: Path
) -> None:
    import boto3
    import requests

    from athena_connector.wire import (
        Constraints,
        FederatedIdentity,
        GetSplitsRequest,
        GetTableLayoutRequest,
        GetTableRequest,
        ListSchemasRequest,
        ListTablesRequest,
        PingRequest,
        ReadRecordsRequest,
        TableName,
        decode_records,
        decode_schema,
        decode_spill_object,
        to_wire,
    )
    from athena_connector.wire.blocks import block_from_wire
    from athena_connector.wire.splits import encryption_key_from_wire, split_from_wire

    bucket = f"spill-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    secret = boto3.client("secretsmanager").create_secret(
        Name=f"saas/{uuid.uuid4().hex[:8]}", SecretString=json.dumps({"api_key": demo.api_key})
    )["ARN"]
    env = _lambda_environment(
        "AthenaConnectorFunction",
        {"SAAS_BASE_URL": demo.base_url, "SAAS_SECRET_ARN": secret, "spill_bucket": bucket},
    )
    assert env["SAAS_SPEC"] == "demo" and env["disable_spill_encryption"] == "false"
    env |= {
        "AWS_LAMBDA_FUNCTION_NAME": "saas",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": aws,
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    }
    fn = LambdaProcess(
        sam_build / "AthenaConnectorFunction", FUNCTIONS["athena"].handler, env, runtime_sdk, tmp_path / "athena.log"
    )
    try:
        origins = fn.ready["origins"]
        assert fn.ready["python"].startswith("3.12.")
        for module in ("athena_connector", "shared", "pyarrow", "cryptography", "aws_lambda_powertools", "yaml"):
            assert origins.get(module) == "package", (module, origins.get(module))
        identity = FederatedIdentity("123456789012", "arn:aws:iam::123456789012:user/analyst")
        catalog, qid, table = "saas", f"q-{uuid.uuid4().hex[:8]}", TableName("demo_crm", "accounts")

        def call(message: Any) -> dict[str, Any]:
            return fn.invoke(json.loads(json.dumps(to_wire(message))))

        assert call(PingRequest(identity, catalog, qid))["@type"] == "PingResponse"
        assert "demo_crm" in call(ListSchemasRequest(identity, qid, catalog))["schemas"]
        tables = call(ListTablesRequest(identity, qid, catalog, "demo_crm"))["tables"]
        assert {"schemaName": "demo_crm", "tableName": "accounts"} in tables
        schema = decode_schema(call(GetTableRequest(identity, qid, catalog, table))["schema"])
        constraints = Constraints()
        layout = call(GetTableLayoutRequest(identity, qid, catalog, table, constraints, schema, ()))
        partitions = block_from_wire(layout["partitions"], "partitions")
        splits = call(GetSplitsRequest(identity, qid, catalog, table, partitions, (), constraints, None))["splits"]
        assert splits
        rows = spilled = 0
        for wire_split in splits:
            split = split_from_wire(wire_split, "split")
            # maxInlineBlockSize 1: every block spills to S3, AES-GCM encrypted with the split's key
            out = call(ReadRecordsRequest(identity, qid, catalog, table, schema, split, constraints, 16_000_000, 1))
            if out["@type"] == "ReadRecordsResponse":  # an empty split answers inline
                block = out["records"]
                rows += decode_records(block["records"], decode_schema(block["schema"])).num_rows
                continue
            assert out["@type"] == "RemoteReadRecordsResponse"
            spilled += 1
            key = encryption_key_from_wire(out["encryptionKey"], "encryptionKey")
            assert key is not None
            for location in out["remoteBlocks"]:
                assert location["bucket"] == bucket and location["key"].startswith(env["spill_prefix"] + "/")
                data = boto3.client("s3").get_object(Bucket=bucket, Key=location["key"])["Body"].read()
                rows += decode_spill_object(data, decode_schema(out["schema"]), key).num_rows
        total = requests.get(f"{demo.base_url}/accounts", headers={"X-API-Key": demo.api_key}, timeout=10).json()[
            "total"
        ]
        assert rows == total == 30 and spilled >= 1
        assert fn.origins()["boto3"] == str(runtime_sdk.resolve())  # the runtime's SDK, not a bundled one
    finally:
        fn.close()


@pytest.mark.slow
def test_built_appflow_package_serves_a_flow(
    sam_build: Path, runtime_sdk: Path, demo: Any, aws: str, tmp_path: Path
) -> None:
    import boto3

    secret = boto3.client("secretsmanager").create_secret(
        Name=f"appflow!123456789012-saas-connector-example-{uuid.uuid4().hex[:6]}",
        SecretString=json.dumps({"apiKey": demo.api_key}),
    )["ARN"]
    env = _lambda_environment("AppFlowConnectorFunction", {"SAAS_BASE_URL": demo.base_url})
    env |= {
        "AWS_LAMBDA_FUNCTION_NAME": "saas-connector-appflow",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": aws,
    }
    fn = LambdaProcess(
        sam_build / "AppFlowConnectorFunction", FUNCTIONS["appflow"].handler, env, runtime_sdk, tmp_path / "appflow.log"
    )
    try:
        credentials = {"secretArn": secret, "authenticationType": "ApiKey"}
        context = {"apiVersion": "v1", "credentials": credentials}
        config = fn.invoke({"type": "DescribeConnectorConfigurationRequest"})
        assert config["isSuccess"] and config["connectorOwner"] == env["APPFLOW_CONNECTOR_OWNER"]
        assert fn.invoke({"type": "ValidateCredentialsRequest", "credentials": credentials})["isSuccess"]
        entities = fn.invoke({"type": "ListEntitiesRequest", "connectorContext": context})
        assert "contacts" in {e["entityIdentifier"] for e in entities["entities"]}
        entity = fn.invoke(
            {"type": "DescribeEntityRequest", "entityIdentifier": "contacts", "connectorContext": context}
        )
        assert entity["isSuccess"]
        ids: list[Any] = []
        token = None
        for _ in range(100):
            page = fn.invoke(
                {"type": "QueryDataRequest", "entityIdentifier": "contacts", "connectorContext": context,
                 "maxResults": 15, "nextToken": token}
            )  # fmt: skip
            assert page["isSuccess"], page
            ids += [json.loads(r)["id"] for r in page["records"]]
            token = page.get("nextToken")
            if not token:
                break
        assert sorted(ids) == sorted(set(ids)) and len(ids) == 40
        origins = fn.origins()
        assert "pyarrow" not in origins
        for module in ("appflow_connector", "shared", "custom_connector_sdk", "antlr4", "aws_lambda_powertools"):
            assert origins.get(module) == "package", module
        assert origins["boto3"] == str(runtime_sdk.resolve())
    finally:
        fn.close()
