"""template.yaml passes cfn-lint and `sam validate --lint` (both offline: no credentials, no region), and the lint
would catch a broken template."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.cfn import TEMPLATE, load_template, policy_statements
from tests.deploy.tools import cfn_lint_command, run, sam_command


def test_cfn_lint_passes() -> None:
    result = run([*cfn_lint_command(), "--include-checks", "I", "--", str(TEMPLATE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes() -> None:
    result = run([*sam_command(), "validate", "--lint", "--template-file", str(TEMPLATE)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


BREAKAGES = [
    ("ConnectorType: CustomConnector", "ConnectorType: CUSTOMCONNECTOR"),  # AppFlow's enum
    ("FileType: PARQUET", "FileType: parquet"),
    ("      Type: LAMBDA\n", "      Type: LAMBDAS\n"),  # the Athena catalog's type
]


def test_cfn_lint_catches_a_broken_template(tmp_path: Path) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    for good, bad in BREAKAGES:
        assert good in text, good
        text = text.replace(good, bad, 1)
    broken = tmp_path / "template.yaml"
    broken.write_text(text, encoding="utf-8")
    result = run([*cfn_lint_command(), "--", str(broken)])
    assert result.returncode != 0
    for _, bad in BREAKAGES:
        value = bad.split(":")[1].strip()
        assert f"'{value}' is not one of" in result.stdout, (value, result.stdout)


def test_the_transformed_template_adds_no_iam(monkeypatch: pytest.MonkeyPatch) -> None:
    """What CloudFormation receives after the SAM transform: SAM adds no role or policy of its own (both functions
    name their role), so the IAM checks on template.yaml cover everything deployed."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    template = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/code.zip"  # what `sam package` puts there
    transformed = transform(template, {}, NoManagedPolicies())
    iam_kinds = ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::Lambda::Permission")
    before = {k for k, v in load_template()["Resources"].items() if v["Type"] in iam_kinds}
    after = {k for k, v in transformed["Resources"].items() if v["Type"] in iam_kinds}
    assert after == before
    statements = policy_statements(transformed)
    assert len(statements) == len(policy_statements(load_template()))
    for function in ("AthenaConnectorFunction", "AppFlowConnectorFunction"):
        props = transformed["Resources"][function]["Properties"]
        assert props["Runtime"] == "python3.12"
        created_role = props["Role"]["Fn::If"][1]["Fn::GetAtt"][0]  # or the existing role a parameter names
        assert "ManagedPolicyArns" not in transformed["Resources"][created_role]["Properties"]
