"""Publishing and parameter combinations: the Serverless Application Repository metadata against SAR's rules, one
version across pyproject.toml, the template and the connector, template-sar.yaml derived from template.yaml and
holding only SAR-supported resources, and both templates linted for every combination of the VPC, role and
example parameters the tests render."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.cfn_yaml import dumps
from deploy.sar_template import SAR_SUPPORTED, SAR_TEMPLATE
from deploy.sar_template import render as render_sar
from tests.deploy.cfn import REPO, TEMPLATE, load_template, references_to_missing, render
from tests.deploy.tools import cfn_lint_command, run, sam_command

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
FULL = load_template()
SAR = load_template(SAR_TEMPLATE)
# From the SAM developer guide, "AWS SAM template Metadata section properties".
SAR_RULES = {
    "Name": (r"[a-zA-Z0-9\-]+", 140),
    "Description": (r"(?s).+", 256),
    "Author": (r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$", 127),
}
LABEL = r"^[a-zA-Z0-9+\-_:\/@]+$"
SEMVER = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?"


def _metadata(template: dict[str, Any]) -> dict[str, Any]:
    return template["Metadata"]["AWS::ServerlessRepo::Application"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", ["template.yaml", "template-sar.yaml"])
def test_sar_metadata_meets_sars_rules(name: str) -> None:
    """What `sam publish` checks (its vendored serverlessrepo library) and the documented patterns."""
    from samcli.vendor.serverlessrepo.application_metadata import ApplicationMetadata
    from samcli.vendor.serverlessrepo.parser import get_app_metadata

    template = load_template(REPO / name)
    metadata = get_app_metadata(template)
    assert isinstance(metadata, ApplicationMetadata)
    metadata.validate(["name", "description", "author", "semantic_version"])  # raises when one is missing
    data = _metadata(template)
    for key, (pattern, longest) in SAR_RULES.items():
        assert re.fullmatch(pattern, data[key]) and len(data[key]) <= longest, key
    assert all(not isinstance(v, dict) for v in data.values()), "SAR metadata takes no intrinsic functions"
    assert data["SpdxLicenseId"] == "Apache-2.0" == PYPROJECT["project"]["license"]["text"]
    assert "athena-federation" in data["Labels"] and len(data["Labels"]) <= 10
    assert all(re.fullmatch(LABEL, label) and len(label) <= 127 for label in data["Labels"])
    assert re.fullmatch(SEMVER, data["SemanticVersion"])
    for key in ("HomePageUrl", "SourceCodeUrl"):
        assert data[key].startswith("https://"), key
    # sam package uploads these files, relative to the template: the package carries them
    for key in ("LicenseUrl", "ReadmeUrl"):
        assert (REPO / name).parent.joinpath(data[key]).is_file(), f"{key}: {data[key]}"
    assert "Apache License" in (REPO / data["LicenseUrl"]).read_text(encoding="utf-8")


def test_one_version_everywhere() -> None:
    from appflow_connector import __version__

    version = PYPROJECT["project"]["version"]
    assert _metadata(FULL)["SemanticVersion"] == version
    assert _metadata(SAR)["SemanticVersion"] == version
    assert __version__ == version  # what DescribeConnectorConfiguration reports
    urls = PYPROJECT["project"]["urls"]
    assert _metadata(FULL)["SourceCodeUrl"] == urls["Source"]
    assert _metadata(FULL)["HomePageUrl"] == urls["Homepage"]


def test_sar_template_is_generated_from_template_yaml() -> None:
    assert SAR_TEMPLATE.read_text(encoding="utf-8") == render_sar(), "run `make sar-template`"


def test_sar_template_holds_only_supported_resources_and_the_connectors() -> None:
    kinds = {r["Type"] for r in SAR["Resources"].values()}
    assert kinds <= SAR_SUPPORTED
    dropped = {k: r["Type"] for k, r in FULL["Resources"].items() if k not in SAR["Resources"]}
    assert {"AWS::AppFlow::Connector", "AWS::Athena::DataCatalog"} <= set(dropped.values())
    for logical_id, kind in dropped.items():
        assert kind not in SAR_SUPPORTED or FULL["Resources"][logical_id].get("Condition") == "CreateExample"
    for kept in ("AthenaConnectorFunction", "AppFlowConnectorFunction", "AppFlowInvokePermission"):
        assert SAR["Resources"][kept] == FULL["Resources"][kept], kept
    assert not references_to_missing(SAR)
    for name in ("SubnetIds", "SecurityGroupIds", "LambdaRoleArn", "AppFlowLambdaRoleArn", "SaaSSpec"):
        assert SAR["Parameters"][name] == FULL["Parameters"][name], name
    assert "CreateExampleFlow" not in SAR["Parameters"]
    text = yaml.safe_dump(SAR["Outputs"])
    assert "create-data-catalog" in text and "register-connector" in text


def test_sar_generation_refuses_a_kept_resource_that_needs_a_dropped_one() -> None:
    from deploy.sar_template import SarTemplateError, sar_template

    broken = load_template()
    broken["Resources"]["QueryAccessPolicy"]["DependsOn"] = "AthenaDataCatalog"
    with pytest.raises(SarTemplateError, match="QueryAccessPolicy"):
        sar_template(broken, "0.1.0")


VPC = {"SubnetIds": "subnet-0aaa1111bbbb2222c,subnet-0ddd3333eeee4444f", "SecurityGroupIds": "sg-0123456789abcdef0"}
ROLES = {
    "LambdaRoleArn": "arn:aws:iam::123456789012:role/athena-connector",
    "AppFlowLambdaRoleArn": "arn:aws:iam::123456789012:role/appflow-connector",
}
EXAMPLE = {
    "CreateExampleFlow": "true",
    "SaaSSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:saas/crm-AbCdEf",
    "EnableTracing": "true",
    "ConnectorLogoUrl": "https://cdn.example.com/logo.png",
}
COMBINATIONS = {"defaults": {}, "vpc": VPC, "roles": ROLES, "vpc-roles-example": {**VPC, **ROLES, **EXAMPLE}}


def test_rendered_combinations_create_what_the_parameters_say() -> None:
    plain = render(FULL, {})
    assert "VpcConfig" not in plain["Globals"]["Function"]
    assert {"AthenaConnectorRole", "AppFlowConnectorRole"} <= set(plain["Resources"])
    vpc = render(FULL, VPC)
    assert vpc["Globals"]["Function"]["VpcConfig"]["SubnetIds"] == {"Ref": "SubnetIds"}
    sids = {
        s["Sid"]
        for s in vpc["Resources"]["AthenaConnectorRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    }
    assert "VpcNetworkInterfaces" in sids
    roles = render(FULL, ROLES)
    assert "AthenaConnectorRole" not in roles["Resources"] and "AppFlowConnectorRole" not in roles["Resources"]
    assert roles["Resources"]["AthenaConnectorFunction"]["Properties"]["Role"] == {"Ref": "LambdaRoleArn"}
    assert roles["Resources"]["AppFlowConnectorFunction"]["Properties"]["Role"] == {"Ref": "AppFlowLambdaRoleArn"}
    full = render(FULL, COMBINATIONS["vpc-roles-example"])
    assert {"ExampleFlow", "ExampleWriteBackFlow"} <= set(full["Resources"])
    env = full["Resources"]["AppFlowConnectorFunction"]["Properties"]["Environment"]["Variables"]
    assert env["APPFLOW_CONNECTOR_LOGO_URL"] == {"Ref": "ConnectorLogoUrl"}
    for rendered in (plain, vpc, roles, full):
        assert not references_to_missing(rendered)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("combinations")
    out = {}
    for name, overrides in COMBINATIONS.items():
        path = folder / f"{name}.yaml"
        path.write_text(dumps(render(FULL, overrides)), encoding="utf-8")
        out[name] = path
    out["sar-vpc-roles"] = folder / "sar-vpc-roles.yaml"
    out["sar-vpc-roles"].write_text(dumps(render(SAR, {**VPC, **ROLES})), encoding="utf-8")
    return out


def test_cfn_lint_passes_for_every_combination(rendered: dict[str, Path]) -> None:
    result = run([*cfn_lint_command(), "--include-checks", "I", "--", str(SAR_TEMPLATE), *map(str, rendered.values())])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", [*COMBINATIONS, "sar-vpc-roles", "template-sar.yaml"])
def test_sam_validate_lint_passes_for_every_combination(rendered: dict[str, Path], name: str) -> None:
    path = SAR_TEMPLATE if name == "template-sar.yaml" else rendered[name]
    result = run([*sam_command(), "validate", "--lint", "--template-file", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_the_full_template_is_the_one_sam_deploy_uses() -> None:
    assert TEMPLATE.name == "template.yaml"
    config = (REPO / "samconfig.toml").read_text(encoding="utf-8")
    assert "template-sar" not in config
