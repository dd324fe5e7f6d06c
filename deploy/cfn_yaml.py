"""CloudFormation YAML as data: read the short intrinsic tags (``!Ref``, ``!Sub``, ``!If`` ...) as their long JSON
forms (``{"Ref": ...}``, ``{"Fn::Sub": ...}``), and write templates back in the long forms, which CloudFormation,
SAM and cfn-lint read the same way. Used to generate the Serverless Application Repository template from
template.yaml (``deploy/sar_template.py``) and by the template tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


class _CfnDumper(yaml.SafeDumper):
    """Block style, keys in template order, long strings folded only where YAML must."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_CfnDumper.add_representer(str, _str)


def load_template(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # type: ignore[no-any-return]


def loads(text: str) -> dict[str, Any]:
    return yaml.load(text, Loader=_CfnLoader)  # type: ignore[no-any-return]


def dumps(template: dict[str, Any]) -> str:
    return yaml.dump(template, Dumper=_CfnDumper, sort_keys=False, width=120, allow_unicode=True)
