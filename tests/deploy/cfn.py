"""Reading template.yaml the way CloudFormation does, and reading the code for the environment it expects.

* ``load_template``: YAML with the short intrinsic tags (``!Ref``, ``!Sub``, ``!If`` ...) turned into their
  long JSON forms (``{"Ref": ...}``, ``{"Fn::Sub": ...}``).
* ``environment_of``: a function's variables, Globals merged in (what SAM does).
* ``policy_statements``: every IAM statement in the template, both branches of each ``Fn::If``.
* ``environment_reads``: every environment variable a set of Python packages reads (by AST, without importing
  them): ``os.environ.get("X")``, ``os.environ["X"]``, ``os.getenv("X")``, ``"X" in os.environ``, the same
  through a mapping named ``env``/``environ``, helpers called as ``f(env, "X", ...)``, names bound to string
  constants (``ALLOW_LIST_ENV = "..."``) and tuples named ``*ENVIRONMENT_KEYS``. A read whose name cannot be
  worked out is reported, so no read slips through unnoticed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy import cfn_yaml

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
NO_VALUE = {"Ref": "AWS::NoValue"}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return cfn_yaml.load_template(path)


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def environment_of(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    merged = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    props = template["Resources"][logical_id]["Properties"]
    merged.update(props.get("Environment", {}).get("Variables", {}))
    return merged


def function_property(template: dict[str, Any], logical_id: str, name: str) -> Any:
    props = template["Resources"][logical_id]["Properties"]
    if name in props:
        return props[name]
    return template.get("Globals", {}).get("Function", {}).get(name)


def branches(value: Any) -> Iterator[Any]:
    """Every value a (possibly conditional) list item can take; ``AWS::NoValue`` dropped."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, yes, no = value["Fn::If"]
        yield from branches(yes)
        yield from branches(no)
    elif value != NO_VALUE:
        yield value


@dataclass
class Statement:
    where: str  # resource logical id (and policy name)
    body: dict[str, Any]

    @property
    def effect(self) -> str:
        return str(self.body.get("Effect"))

    @property
    def actions(self) -> list[str]:
        action = self.body.get("Action", [])
        return [action] if isinstance(action, str) else list(action)

    @property
    def resources(self) -> list[Any]:
        resource = self.body.get("Resource", [])
        return [item for r in (resource if isinstance(resource, list) else [resource]) for item in branches(r)]


def _documents(logical_id: str, resource: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    kind, props = resource["Type"], resource.get("Properties", {})
    if kind == "AWS::IAM::Role":
        for policy in props.get("Policies", []):
            yield f"{logical_id}/{policy['PolicyName']}", policy["PolicyDocument"]
    elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy"):
        yield logical_id, props["PolicyDocument"]
    elif kind == "AWS::Serverless::Function":
        for policy in props.get("Policies", []) or []:
            if isinstance(policy, dict) and "Statement" in policy:
                yield f"{logical_id}/Policies", policy


def policy_statements(template: dict[str, Any]) -> list[Statement]:
    out: list[Statement] = []
    for logical_id, resource in template["Resources"].items():
        for where, document in _documents(logical_id, resource):
            raw = document["Statement"]
            for item in raw if isinstance(raw, list) else [raw]:
                out.extend(Statement(where, body) for body in branches(item))
    return out


# ---------------------------------------------------------------------------------------------------
# Environment variables the code reads
# ---------------------------------------------------------------------------------------------------
ENV_MAPPING_NAMES = {"env", "environ", "environment"}


@dataclass
class EnvironmentReads:
    names: dict[str, set[str]] = field(default_factory=dict)  # variable -> "file:line" places
    unresolved: list[str] = field(default_factory=list)  # "file:line: code"

    def add(self, name: str, where: str) -> None:
        self.names.setdefault(name, set()).add(where)


def _is_environ(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "environ":
        return True  # os.environ
    return isinstance(node, ast.Name) and node.id in ENV_MAPPING_NAMES


def _string_constants(trees: dict[Path, ast.Module]) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """Module-level ``NAME = "text"`` and ``*ENVIRONMENT_KEYS = ("a", "b")`` across all modules."""
    scalars: dict[str, set[str]] = {}
    tuples: dict[str, list[str]] = {}
    for tree in trees.values():
        for node in tree.body:
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            else:
                continue
            for target in targets:
                if not isinstance(target, ast.Name):
                    continue
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    scalars.setdefault(target.id, set()).add(value.value)
                elif isinstance(value, ast.Tuple | ast.List) and all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
                ):
                    tuples[target.id] = [e.value for e in value.elts]  # type: ignore[attr-defined]
    return scalars, tuples


class _Scanner(ast.NodeVisitor):
    def __init__(
        self, path: str, scalars: dict[str, set[str]], tuples: dict[str, list[str]], out: EnvironmentReads
    ) -> None:
        self.path = path
        self.scalars = scalars
        self.tuples = tuples
        self.out = out
        self.params: list[set[str]] = []
        self.comprehension_vars: list[dict[str, str]] = []  # loop variable -> tuple constant it iterates
        self.source_lines: list[str] = []

    # scopes ---------------------------------------------------------------------------------
    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        self.params.append(names)
        self.generic_visit(node)
        self.params.pop()

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function
    visit_Lambda = _visit_function

    def _visit_comprehension(self, node: ast.AST) -> None:
        bound: dict[str, str] = {}
        for generator in node.generators:  # type: ignore[attr-defined]
            if isinstance(generator.target, ast.Name) and isinstance(generator.iter, ast.Name):
                bound[generator.target.id] = generator.iter.id
        self.comprehension_vars.append(bound)
        self.generic_visit(node)
        self.comprehension_vars.pop()

    visit_GeneratorExp = _visit_comprehension
    visit_ListComp = _visit_comprehension
    visit_SetComp = _visit_comprehension
    visit_DictComp = _visit_comprehension

    # reads ----------------------------------------------------------------------------------
    def _record(self, key: ast.AST, node: ast.AST) -> None:
        where = f"{self.path}:{node.lineno}"  # type: ignore[attr-defined]
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            self.out.add(key.value, where)
            return
        name = key.id if isinstance(key, ast.Name) else key.attr if isinstance(key, ast.Attribute) else None
        if name is not None and name in self.scalars:
            for value in self.scalars[name]:
                self.out.add(value, where)
            return
        if isinstance(key, ast.Name):
            for bound in reversed(self.comprehension_vars):
                if key.id in bound and bound[key.id] in self.tuples:
                    for value in self.tuples[bound[key.id]]:
                        self.out.add(value, where)
                    return
            if any(key.id in params for params in self.params):
                return  # a helper's parameter: its call sites are scanned (f(env, "X"))
        self.out.unresolved.append(f"{where}: {ast.unparse(node)}")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in ("get", "pop", "setdefault")
            and _is_environ(func.value)
            and node.args
        ) or (
            (
                (isinstance(func, ast.Attribute) and func.attr == "getenv")
                or (isinstance(func, ast.Name) and func.id == "getenv")
            )
            and node.args
        ):
            self._record(node.args[0], node)
        elif len(node.args) >= 2 and _is_environ(node.args[0]):
            self._record(node.args[1], node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if _is_environ(node.value) and isinstance(node.ctx, ast.Load):
            self._record(node.slice, node)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        if len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn) and _is_environ(node.comparators[0]):
            self._record(node.left, node)
        self.generic_visit(node)


def environment_reads(packages: tuple[str, ...], repo: Path = REPO) -> EnvironmentReads:
    trees: dict[Path, ast.Module] = {}
    for package in packages:
        for path in sorted((repo / package).rglob("*.py")):
            trees[path] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    scalars, tuples = _string_constants(trees)
    out = EnvironmentReads()
    for name, values in tuples.items():
        if name.endswith("ENVIRONMENT_KEYS"):
            for value in values:
                out.add(value, f"{name} tuple")
    for path, tree in trees.items():
        _Scanner(str(path.relative_to(repo)), scalars, tuples, out).visit(tree)
    return out


# ---------------------------------------------------------------------------------------------------
# One combination of parameters, rendered: what CloudFormation would create for it
# ---------------------------------------------------------------------------------------------------
def _parameter_value(template: dict[str, Any], params: dict[str, str], name: str) -> Any:
    if name.startswith("AWS::"):
        return {"AWS::AccountId": "123456789012", "AWS::Region": "us-east-1", "AWS::Partition": "aws"}.get(name, name)
    value = params[name]
    if template["Parameters"][name]["Type"] == "CommaDelimitedList":
        return value.split(",")
    return value


def _condition(template: dict[str, Any], params: dict[str, str], node: Any, seen: dict[str, bool]) -> Any:
    if isinstance(node, str | int | float):
        return node
    if isinstance(node, list):
        return [_condition(template, params, n, seen) for n in node]
    ((fn, args),) = node.items()
    if fn == "Ref":
        return _parameter_value(template, params, args)
    if fn == "Condition":
        return condition_value(template, params, args, seen)
    values = [_condition(template, params, a, seen) for a in args] if isinstance(args, list) else args
    if fn == "Fn::Equals":
        return values[0] == values[1]
    if fn == "Fn::Not":
        return not values[0]
    if fn == "Fn::And":
        return all(values)
    if fn == "Fn::Or":
        return any(values)
    if fn == "Fn::Join":
        return values[0].join(values[1])
    if fn == "Fn::Split":
        return values[1].split(values[0])
    if fn == "Fn::Select":
        return values[1][int(values[0])]
    if fn == "Fn::Sub" and isinstance(args, str):
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(_parameter_value(template, params, m.group(1))), args)
    raise AssertionError(f"no evaluator for {fn} in a condition")


def condition_value(template: dict[str, Any], params: dict[str, str], name: str, seen: dict[str, bool]) -> bool:
    if name not in seen:
        seen[name] = bool(_condition(template, params, template["Conditions"][name], seen))
    return seen[name]


def _resolve_ifs(value: Any, truth: dict[str, bool]) -> Any:
    if isinstance(value, list):
        out = []
        for item in value:
            resolved = _resolve_ifs(item, truth)
            if resolved != NO_VALUE or not (isinstance(item, dict) and "Fn::If" in item):
                out.append(resolved)
        return out
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, yes, no = value["Fn::If"]
            return _resolve_ifs(yes if truth[name] else no, truth)
        return {k: _resolve_ifs(v, truth) for k, v in value.items() if _resolve_ifs(v, truth) != NO_VALUE}
    return value


def render(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    """The template for one combination of parameters: conditions decided, ``Fn::If`` resolved, resources and
    outputs of false conditions gone, the parameters' defaults set to the combination (so linters see it)."""
    import copy

    params = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    unknown = set(overrides) - set(params)
    assert not unknown, f"no such parameters: {unknown}"
    params |= overrides
    truth: dict[str, bool] = {}
    for name in template.get("Conditions", {}):
        condition_value(template, params, name, truth)
    out = copy.deepcopy(template)
    out.pop("Conditions", None)
    for name, value in overrides.items():
        out["Parameters"][name]["Default"] = value
    for section in ("Resources", "Outputs"):
        kept = {}
        for logical_id, item in out.get(section, {}).items():
            condition = item.pop("Condition", None)
            if condition is None or truth[condition]:
                kept[logical_id] = _resolve_ifs(item, truth)
        out[section] = kept
    out["Globals"] = _resolve_ifs(out.get("Globals", {}), truth)
    return out


def references_to_missing(template: dict[str, Any]) -> list[str]:
    """Names a template refers to (Ref, GetAtt, ``${X}`` in Sub, DependsOn) that it does not define."""
    from deploy.sar_template import references

    known = set(template.get("Parameters", {})) | set(template["Resources"])
    missing = []
    for section in ("Resources", "Outputs"):
        for logical_id, item in template.get(section, {}).items():
            depends = item.get("DependsOn", [])
            names = set(references(item)) | set([depends] if isinstance(depends, str) else depends)
            missing += [f"{logical_id} -> {n}" for n in sorted(names) if not n.startswith("AWS::") and n not in known]
    return missing
