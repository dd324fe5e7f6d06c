#!/usr/bin/env python3
"""Write template-sar.yaml: the connectors of template.yaml that the Serverless Application Repository accepts.

    python deploy/sar_template.py            # (re)write template-sar.yaml
    python deploy/sar_template.py --check    # exit 1 when template-sar.yaml is not what this would write

SAR publishes only templates whose resource types are on its list of supported resources
(https://docs.aws.amazon.com/serverlessrepo/latest/devguide/list-supported-resources.html). The AppFlow
registration, connection and flows (``AWS::AppFlow::*``) and the Athena data catalog (``AWS::Athena::DataCatalog``)
are not on it, so the published application holds both functions, their roles, log groups, the spill bucket, the
query policy and AppFlow's invoke permission; the outputs then give the two commands that register the
catalog and the connector, as the official Athena connectors leave registration to the user.

Derived, not hand-written, so the two templates cannot drift: resources of unsupported types go, and with
them the optional example (everything under the ``CreateExample`` condition, built on the AppFlow connection);
``Fn::If`` on a dropped condition keeps its false branch; parameters, conditions, rules and outputs nothing uses
any more go too. A kept resource that still refers to a dropped one is an error, not a silent omission.
``SemanticVersion`` is pyproject.toml's version.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.cfn_yaml import dumps, load_template, loads
from deploy.lambda_packages import PYPROJECT, REPO, TEMPLATE

SAR_TEMPLATE = REPO / "template-sar.yaml"
SAR_METADATA = "AWS::ServerlessRepo::Application"
# The types of SAR's list of supported resources that these templates use (checked against the list at
# https://docs.aws.amazon.com/serverlessrepo/latest/devguide/list-supported-resources.html, December 2026).
SAR_SUPPORTED = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::Glue::Database",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Policy",
        "AWS::IAM::Role",
        "AWS::Lambda::Permission",
        "AWS::Logs::LogGroup",
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        "AWS::Serverless::Function",
    }
)
DROPPED_CONDITIONS = ("CreateExample",)  # the example flows stand on the AppFlow connection
DESCRIPTION = (
    "saas-connectors, connectors only (the Serverless Application Repository build of template.yaml): the Athena "
    "federated query connector and the AppFlow custom connector over one declarative SaaS API spec. Register "
    "them with the commands in the outputs."
)
REGISTRATION_OUTPUTS = """
AthenaDataSource:
  Description: Query with this catalog in SQL until you register it (see RegisterAthenaCatalog).
  Value: !Sub lambda:${AthenaConnectorFunction}
RegisterAthenaCatalog:
  Description: Run once to make the connector an Athena data source named AthenaCatalogName.
  Value: !Sub >-
    aws athena create-data-catalog --name ${AthenaCatalogName} --type LAMBDA
    --parameters function=${AthenaConnectorFunction.Arn}
RegisterAppFlowConnector:
  Description: Run once to register the AppFlow connector (then create connections in the AppFlow console).
  Value: !Sub >-
    aws appflow register-connector --connector-label ${ConnectorLabel} --connector-provisioning-type LAMBDA
    --connector-provisioning-config lambda={lambdaArn=${AppFlowConnectorFunction.Arn}}
"""
NO_VALUE = {"Ref": "AWS::NoValue"}
_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9_:]+)(?:\.[A-Za-z0-9_.]+)?\}")


class SarTemplateError(Exception):
    """template.yaml cannot be cut down to a publishable template (says which resource and why)."""


def project_version(pyproject: Path = PYPROJECT) -> str:
    return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])


def references(value: Any) -> Iterator[str]:
    """Every logical id or parameter a value names: Ref, GetAtt, ``${X}`` / ``${X.Attr}`` in Sub."""
    if isinstance(value, list):
        for item in value:
            yield from references(item)
        return
    if not isinstance(value, dict):
        return
    for key, inner in value.items():
        if key == "Ref" and isinstance(inner, str):
            yield inner
        elif key == "Fn::GetAtt":
            yield inner[0] if isinstance(inner, list) else str(inner).split(".", 1)[0]
        elif key == "Fn::Sub":
            text, local = (inner, {}) if isinstance(inner, str) else (inner[0], inner[1])
            yield from (n for n in _SUB_NAME.findall(text) if n not in local)
            yield from references(local)
        else:
            yield from references(inner)


def conditions_named(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from conditions_named(item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key == "Fn::If":
                yield inner[0]
                yield from conditions_named(inner[1:])
            elif key == "Condition" and isinstance(inner, str):
                yield inner
            else:
                yield from conditions_named(inner)


def _without_conditions(value: Any, dropped: set[str]) -> Any:
    """``Fn::If`` on a dropped (always false) condition replaced by its false branch."""
    if isinstance(value, list):
        # a list item that was such an Fn::If and became AWS::NoValue disappears, as CloudFormation drops it
        return [
            _without_conditions(v, dropped)
            for v in value
            if not (_is_dropped_if(v, dropped) and _without_conditions(v, dropped) == NO_VALUE)
        ]
    if isinstance(value, dict):
        if set(value) == {"Fn::If"} and value["Fn::If"][0] in dropped:
            return _without_conditions(value["Fn::If"][2], dropped)
        return {k: _without_conditions(v, dropped) for k, v in value.items()}
    return value


def _is_dropped_if(value: Any, dropped: set[str]) -> bool:
    return isinstance(value, dict) and set(value) == {"Fn::If"} and value["Fn::If"][0] in dropped


def sar_template(template: dict[str, Any], version: str) -> dict[str, Any]:
    resources: dict[str, Any] = template["Resources"]
    dropped_conditions = set(DROPPED_CONDITIONS)
    dropped = {
        name
        for name, r in resources.items()
        if r["Type"] not in SAR_SUPPORTED or r.get("Condition") in dropped_conditions
    }
    kept = {name: _without_conditions(r, dropped_conditions) for name, r in resources.items() if name not in dropped}
    for name, resource in kept.items():
        named = set(references(resource)) | set(_depends_on(resource))
        if named & dropped:
            raise SarTemplateError(
                f"resource {name} refers to {sorted(named & dropped)}, which the SAR template cannot hold"
            )
    outputs = {
        name: _without_conditions(o, dropped_conditions)
        for name, o in template.get("Outputs", {}).items()
        if o.get("Condition") not in dropped_conditions and not set(references(o)) & dropped
    }
    outputs.update(loads(REGISTRATION_OUTPUTS))
    conditions = {k: v for k, v in template.get("Conditions", {}).items() if k not in dropped_conditions}
    globals_ = _without_conditions(template.get("Globals", {}), dropped_conditions)
    # conditions, then parameters, that nothing kept uses any more
    used_conditions = set(conditions_named([kept, outputs, globals_])) | {
        r["Condition"] for r in [*kept.values(), *outputs.values()] if "Condition" in r
    }
    while True:
        needed = used_conditions | set(conditions_named([conditions[c] for c in used_conditions if c in conditions]))
        if needed == used_conditions:
            break
        used_conditions = needed
    conditions = {k: v for k, v in conditions.items() if k in used_conditions}
    used = set(references([kept, outputs, conditions, globals_]))
    parameters = {k: v for k, v in template["Parameters"].items() if k in used}
    rules = {
        k: v
        for k, v in template.get("Rules", {}).items()
        if set(references(v)) <= set(parameters) | {"AWS::Region", "AWS::AccountId"}
    }
    metadata = dict(template.get("Metadata", {}))
    metadata[SAR_METADATA] = {**metadata[SAR_METADATA], "SemanticVersion": version}
    interface = metadata.get("AWS::CloudFormation::Interface")
    if interface:
        groups = []
        for group in interface["ParameterGroups"]:
            names = [p for p in group["Parameters"] if p in parameters]
            if names:
                groups.append({**group, "Parameters": names})
        metadata["AWS::CloudFormation::Interface"] = {**interface, "ParameterGroups": groups}
    out: dict[str, Any] = {
        "AWSTemplateFormatVersion": template["AWSTemplateFormatVersion"],
        "Transform": template["Transform"],
        "Description": DESCRIPTION,
        "Metadata": metadata,
        "Parameters": parameters,
    }
    if rules:
        out["Rules"] = rules
    out["Conditions"] = conditions
    out["Globals"] = globals_
    out["Resources"] = kept
    out["Outputs"] = outputs
    return out


def _depends_on(resource: dict[str, Any]) -> list[str]:
    value = resource.get("DependsOn", [])
    return [value] if isinstance(value, str) else list(value)


HEADER = (
    "# GENERATED from template.yaml by deploy/sar_template.py (make sar-template): do not edit.\n"
    "# The Serverless Application Repository build: `sam build -t template-sar.yaml`, `sam package`, `sam publish`\n"
    "# (docs/deploying.md). For a full stack (Athena catalog, AppFlow registration, example flows) deploy\n"
    "# template.yaml instead.\n"
)


def render(template_path: Path = TEMPLATE, pyproject: Path = PYPROJECT) -> str:
    return HEADER + dumps(sar_template(load_template(template_path), project_version(pyproject)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when template-sar.yaml is out of date")
    parser.add_argument("--output", type=Path, default=SAR_TEMPLATE)
    args = parser.parse_args(argv)
    try:
        text = render()
    except SarTemplateError as exc:
        print(f"sar_template: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output.name} is out of date: run `make sar-template`", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output.relative_to(REPO) if args.output.is_relative_to(REPO) else args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
