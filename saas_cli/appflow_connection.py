"""Which AppFlow connector to talk to, and with which connection (profile): command-line options shared by
``flow run``, ``flow write`` and ``validate``.

In this process the connector reads its credentials the way it does in Lambda, from the Secrets Manager
secret named in the event. Without ``--secret-arn`` the command stores the local credentials
(``SAAS_CREDENTIALS`` and/or ``SAAS_API_KEY``) as a CustomAuth secret in a local Secrets Manager (moto).
"""

from __future__ import annotations

import argparse
import json
import os

from saas_cli import local_aws
from saas_cli.appflow_calls import LOCAL_SECRET_NAME, AppFlowCalls, Connection
from saas_cli.errors import UsageError
from saas_cli.invoker import APPFLOW_HANDLER, make_invoker

AUTH_TYPES = ("ApiKey", "BasicAuth", "OAuth2", "CustomAuth")


def add_connection_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("connector and connection")
    g.add_argument("--function-name", metavar="NAME", help="send the events to this deployed Lambda (boto3)")
    g.add_argument("--region", help="AWS region of the function (default: boto3's)")
    g.add_argument("--spec", default=None, help="spec for the in-process connector (sets SAAS_SPEC)")
    g.add_argument("--secret-arn", help="the connection's credentials secret, as AppFlow passes it")
    g.add_argument("--auth-type", choices=AUTH_TYPES, default=None, help="authenticationType (default CustomAuth)")
    g.add_argument("--api-version", default="v1", help="connectorContext.apiVersion (default v1)")
    g.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a connection (profile) runtime setting; repeat for more",
    )
    g.add_argument(
        "--source-setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a flow (source) runtime setting such as page_size=200; repeat for more",
    )


def pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value
    return out


def local_secret() -> str | None:
    """Store the local credentials as a CustomAuth secret (keys = the spec's ``{secret.*}`` names)."""
    values: dict[str, str] = {}
    raw = os.environ.get("SAAS_CREDENTIALS")
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise UsageError("SAAS_CREDENTIALS must be a JSON object") from None
        if not isinstance(parsed, dict):
            raise UsageError("SAAS_CREDENTIALS must be a JSON object")
        values.update({str(k): str(v) for k, v in parsed.items()})
    if os.environ.get("SAAS_API_KEY"):
        values["api_key"] = os.environ["SAAS_API_KEY"]
    if not values:
        return None
    values["customAuthenticationType"] = "saas-connectors"
    local_aws.use(("secretsmanager",))
    return local_aws.put_secret(LOCAL_SECRET_NAME, json.dumps(values))


def require_no_secret() -> None:
    """With no credentials at all, fail before any call if the spec's auth needs a ``{secret.*}`` value,
    naming the variable to set (the connector itself could only say that the request carries none)."""
    from shared.spec import load_spec
    from shared.templating import placeholders, secret_hint

    auth = load_spec(os.environ.get("SAAS_SPEC")).api.auth
    needed = sorted(
        {name for value in auth.params.values() for scope, name in placeholders(str(value)) if scope == "secret"}
    )
    if needed:
        raise UsageError(f"no credentials: the spec's auth needs {{secret.{needed[0]}}}", hint=secret_hint(needed[0]))


def make_calls(args: argparse.Namespace) -> AppFlowCalls:
    secret_arn = args.secret_arn
    if not args.function_name:
        if args.spec:
            os.environ["SAAS_SPEC"] = args.spec
        if not secret_arn:
            secret_arn = local_secret()
        if not secret_arn:
            require_no_secret()
    auth_type = args.auth_type or "CustomAuth"
    connection = Connection(
        secret_arn=secret_arn,
        auth_type=auth_type,
        api_version=args.api_version,
        profile_settings=pairs(args.setting, "--setting"),
        flow_settings=pairs(args.source_setting, "--source-setting"),
    )
    invoker = make_invoker(APPFLOW_HANDLER, args.function_name, region=args.region, verbose=args.verbose)
    return AppFlowCalls(invoker, connection)
