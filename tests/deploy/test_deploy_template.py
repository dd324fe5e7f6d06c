"""template.yaml, read as data: handlers, environment, IAM, buckets, AppFlow ordering, Athena catalog, outputs."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import pytest

from deploy.lambda_packages import FUNCTIONS, LAMBDA_PYTHON
from tests.deploy.cfn import (
    NO_VALUE,
    REPO,
    environment_of,
    environment_reads,
    function_property,
    load_template,
    policy_statements,
    resources_of_type,
)

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
PARAMETERS = TEMPLATE["Parameters"]

# Read by the code but deliberately not set by the template, and why.
SET_BY_LAMBDA = {
    "AWS_REGION": "set by the Lambda runtime",
    "AWS_DEFAULT_REGION": "set by the Lambda runtime",
    "AWS_LAMBDA_FUNCTION_NAME": "set by the Lambda runtime",
}
LOCAL_ONLY = {
    "AWS_ENDPOINT_URL": "tests and local runs point boto3 at moto; in AWS the real endpoints are right",
    "AWS_ENDPOINT_URL_S3": "as AWS_ENDPOINT_URL, for S3 only (shared/aws.py keys its clients on it)",
    "AWS_ENDPOINT_URL_KMS": "as AWS_ENDPOINT_URL, for KMS only",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER": "as AWS_ENDPOINT_URL, for Secrets Manager only",
    "AWS_ENDPOINT_URL_DYNAMODB": "as AWS_ENDPOINT_URL, for DynamoDB only (the shared quota table)",
    "SAAS_API_KEY": "local runs only: in Lambda credentials come from Secrets Manager (SAAS_SECRET_ARN), never env",
    "SAAS_CREDENTIALS": "local runs only, as SAAS_API_KEY",
}
NOT_SET_PER_FUNCTION = {
    "appflow": {"SAAS_SECRET_ARN": "AppFlow passes each connection's secret ARN in every request"},
}
# Read by libraries rather than by our code; must be set on every function.
LIBRARY_VARIABLES = {
    "POWERTOOLS_SERVICE_NAME": "powertools Logger/Metrics/Tracer service",
    "POWERTOOLS_METRICS_NAMESPACE": "powertools Metrics namespace",
    "POWERTOOLS_LOG_LEVEL": "powertools Logger level",
}
ALSO_READ_BY_LIBRARIES = {"LOG_LEVEL"}  # powertools' legacy name for POWERTOOLS_LOG_LEVEL

# Actions an Allow may grant on "*": X-Ray's have no resource-level permissions; the EC2 network-interface
# actions a function in a VPC needs (only with SubnetIds) are granted so by AWSLambdaVPCAccessExecutionRole too,
# since Lambda creates and deletes the interfaces in subnets the role cannot name in advance.
RESOURCE_WILDCARD_OK = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}
# Every Allow's resources must be built from one of these (per service): the spill bucket, the secret, the key...
RESOURCE_ANCHORS = {
    "logs": ("LogGroup",),
    "s3": ("SpillBucket", "AthenaSpillBucket", "LandingBucket", "SaaSSpec"),
    "secretsmanager": ("SaaSSecretArn", "appflow!${AWS::AccountId}-${ConnectorLabel}-"),
    "kms": ("KMSKeyId",),
    "glue": ("GlueDatabaseName", '${AWS::AccountId}:catalog"'),  # Glue checks the catalog too
    "lambda": ("AthenaConnectorFunction",),
    "athena": ("datacatalog/${AthenaCatalogName}", "workgroup/${AthenaWorkGroup}"),
    "dynamodb": ('"QuotaTable"',),
}


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# ---------------------------------------------------------------------------------------------------
# Functions and handlers
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_runtime_handler_and_build(name: str) -> None:
    fn = FUNCTIONS[name]
    resource = RESOURCES[fn.logical_id]
    assert resource["Type"] == "AWS::Serverless::Function"
    assert function_property(TEMPLATE, fn.logical_id, "Runtime") == f"python{LAMBDA_PYTHON}"
    assert function_property(TEMPLATE, fn.logical_id, "Architectures") == ["x86_64"]  # what build_function builds
    assert resource["Properties"]["Handler"] == fn.handler
    # built by deploy/functions/<name>/Makefile (sam build, BuildMethod: makefile)
    assert resource["Metadata"]["BuildMethod"] == "makefile"
    code_uri = resource["Properties"]["CodeUri"]
    assert code_uri.rstrip("/") == f"deploy/functions/{name}"
    makefile = (REPO / code_uri / "Makefile").read_text()
    assert re.search(rf"^build-{fn.logical_id}:", makefile, re.M)
    assert f"$(BUILD_FUNCTION) {name}" in makefile


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_handler_path_exists(name: str) -> None:
    module, _, attribute = FUNCTIONS[name].handler.rpartition(".")
    path = REPO / (module.replace(".", "/") + ".py")
    assert path.is_file(), f"{FUNCTIONS[name].handler}: {path} does not exist"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    assert attribute in defined, f"{path.relative_to(REPO)} defines no module-level {attribute}"
    assert module.split(".")[0] in FUNCTIONS[name].packages, "the handler's package must be in the function's package"


def test_limits_are_lambdas() -> None:
    # cfn-lint does not check these on AWS::Serverless::Function (see shared/reference/deployment.md 3.3)
    assert PARAMETERS["LambdaTimeout"]["MaxValue"] <= 900
    assert PARAMETERS["LambdaMemory"]["MaxValue"] <= 10240
    assert PARAMETERS["AppFlowLambdaMemory"]["MaxValue"] <= 10240
    assert RESOURCES["AppFlowConnectorFunction"]["Properties"]["Timeout"] <= 30  # AppFlow waits 30 s at most


# function -> (the role the stack creates, the parameter naming an existing one, the condition choosing)
ROLES = {
    "AthenaConnectorFunction": ("AthenaConnectorRole", "LambdaRoleArn", "CreateAthenaRole"),
    "AppFlowConnectorFunction": ("AppFlowConnectorRole", "AppFlowLambdaRoleArn", "CreateAppFlowRole"),
}


@pytest.mark.parametrize("logical_id", sorted(ROLES))
def test_an_existing_role_replaces_the_created_one(logical_id: str) -> None:
    role, parameter, condition = ROLES[logical_id]
    assert RESOURCES[logical_id]["Properties"]["Role"] == {
        "Fn::If": [condition, {"Fn::GetAtt": [role, "Arn"]}, {"Ref": parameter}]
    }
    assert RESOURCES[role]["Condition"] == condition
    assert TEMPLATE["Conditions"][condition] == {"Fn::Equals": [{"Ref": parameter}, ""]}
    assert PARAMETERS[parameter]["Default"] == ""
    pattern = PARAMETERS[parameter]["AllowedPattern"]
    assert re.fullmatch(pattern, "arn:aws:iam::123456789012:role/service-role/my-connector-role")
    assert not re.fullmatch(pattern, "arn:aws:iam::123456789012:user/me")
    # nothing else names the role, so a stack given an existing one has no dangling reference
    users = [k for k, r in RESOURCES.items() if k != logical_id and role in _text(r)]
    assert not users, f"{role} is used by {users}"


def test_vpc_config_and_eni_permissions_only_in_a_vpc() -> None:
    vpc = TEMPLATE["Globals"]["Function"]["VpcConfig"]
    assert vpc == {
        "Fn::If": [
            "InVpc",
            {"SubnetIds": {"Ref": "SubnetIds"}, "SecurityGroupIds": {"Ref": "SecurityGroupIds"}},
            NO_VALUE,
        ]
    }
    for fn in FUNCTIONS.values():
        assert "VpcConfig" not in RESOURCES[fn.logical_id]["Properties"]  # both take the Globals one
    assert TEMPLATE["Conditions"]["InVpc"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "SubnetIds"}]}, ""]}]
    }
    for name in ("SubnetIds", "SecurityGroupIds"):
        assert PARAMETERS[name]["Type"] == "CommaDelimitedList" and PARAMETERS[name]["Default"] == ""
    eni = [s for s in STATEMENTS if any(a.startswith("ec2:") for a in s.actions)]
    assert {s.where.split("/")[0] for s in eni} == {"AthenaConnectorRole", "AppFlowConnectorRole"}
    for role in ("AthenaConnectorRole", "AppFlowConnectorRole"):
        raw = RESOURCES[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        conditional = [s["Fn::If"] for s in raw if isinstance(s, dict) and "Fn::If" in s]
        assert any(c[0] == "InVpc" and c[1]["Sid"] == "VpcNetworkInterfaces" and c[2] == NO_VALUE for c in conditional)
    rules = TEMPLATE["Rules"]
    assert {"SubnetsNeedSecurityGroups", "SecurityGroupsNeedSubnets"} <= set(rules)


# ---------------------------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_environment_variable_the_code_reads_is_set(name: str) -> None:
    fn = FUNCTIONS[name]
    reads = environment_reads(fn.packages)
    assert not reads.unresolved, f"environment reads whose variable name cannot be worked out: {reads.unresolved}"
    assert "SAAS_SPEC" in reads.names and "SAAS_BASE_URL" in reads.names  # the scanner sees the shared client
    environment = environment_of(TEMPLATE, fn.logical_id)
    exempt = {**SET_BY_LAMBDA, **LOCAL_ONLY, **NOT_SET_PER_FUNCTION.get(name, {})}
    missing = {
        var: sorted(places) for var, places in reads.names.items() if var not in environment and var not in exempt
    }
    assert not missing, f"{fn.logical_id}: read by the code but not set in template.yaml: {missing}"
    missing_library = sorted(set(LIBRARY_VARIABLES) - set(environment))
    assert not missing_library, f"{fn.logical_id}: powertools settings not set: {missing_library}"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_environment_variable_set_is_read(name: str) -> None:
    """A variable nobody reads is a typo or a leftover (e.g. spill_bucket on the AppFlow function)."""
    fn = FUNCTIONS[name]
    read = set(environment_reads(fn.packages).names) | set(LIBRARY_VARIABLES) | ALSO_READ_BY_LIBRARIES
    unused = sorted(set(environment_of(TEMPLATE, fn.logical_id)) - read)
    assert not unused, f"{fn.logical_id} sets variables its code never reads: {unused}"


def test_athena_environment_values() -> None:
    env = environment_of(TEMPLATE, "AthenaConnectorFunction")
    assert env["SAAS_SPEC"] == {"Ref": "SaaSSpec"}
    assert env["SAAS_SECRET_ARN"] == {"Fn::If": ["HasSecret", {"Ref": "SaaSSecretArn"}, NO_VALUE]}
    assert env["spill_bucket"] == {
        "Fn::If": ["CreateSpillBucket", {"Ref": "AthenaSpillBucket"}, {"Ref": "SpillBucket"}]
    }
    assert env["spill_prefix"] == {"Ref": "SpillPrefix"}
    assert env["disable_spill_encryption"] == {"Ref": "DisableSpillEncryption"}
    assert env["kms_key_id"] == {"Fn::If": ["HasKmsKey", {"Ref": "KMSKeyId"}, NO_VALUE]}
    for fn in FUNCTIONS.values():
        assert environment_of(TEMPLATE, fn.logical_id)["POWERTOOLS_SERVICE_NAME"] == f"{fn.name}-connector"
    # no secret ever travels in an environment variable
    for fn in FUNCTIONS.values():
        for var, value in environment_of(TEMPLATE, fn.logical_id).items():
            assert "resolve:secretsmanager" not in _text(value), var
            assert var not in LOCAL_ONLY, var


# ---------------------------------------------------------------------------------------------------
# IAM
# ---------------------------------------------------------------------------------------------------
STATEMENTS = policy_statements(TEMPLATE)


def test_iam_allows_have_no_wildcard_actions() -> None:
    assert len(STATEMENTS) > 10
    for statement in STATEMENTS:
        assert "NotAction" not in statement.body and "NotResource" not in statement.body, statement.where
        if statement.effect != "Allow":
            continue
        for action in statement.actions:
            assert "*" not in action and "?" not in action, f"{statement.where}: wildcard action {action}"


def test_iam_wildcard_only_in_tls_denies() -> None:
    """The only wildcards are in bucket policies' Deny of plain-HTTP requests (a Deny only takes away)."""
    for statement in STATEMENTS:
        if statement.effect == "Deny":
            assert statement.body["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, statement.where
            assert RESOURCES[statement.where]["Type"] == "AWS::S3::BucketPolicy"


def test_iam_resources_are_scoped() -> None:
    for statement in STATEMENTS:
        if statement.effect != "Allow" or "Principal" in statement.body:
            continue  # bucket-policy grants to a service are scoped by their bucket and SourceAccount
        for resource in statement.resources:
            if resource == "*":
                assert set(statement.actions) <= RESOURCE_WILDCARD_OK, f"{statement.where}: {statement.actions} on *"
                continue
            text = _text(resource)
            for action in statement.actions:
                anchors = RESOURCE_ANCHORS[action.split(":")[0]]
                assert any(a in text for a in anchors), f"{statement.where}: {action} on {text} (want {anchors})"


def test_iam_roles_are_explicit_and_bounded() -> None:
    for logical_id, role in resources_of_type(TEMPLATE, "AWS::IAM::Role").items():
        props = role["Properties"]
        assert "ManagedPolicyArns" not in props, f"{logical_id}: no managed policies, every grant is inline"
        assert props["PermissionsBoundary"] == {
            "Fn::If": ["HasPermissionsBoundary", {"Ref": "PermissionsBoundaryARN"}, NO_VALUE]
        }
    for fn in FUNCTIONS.values():
        assert "Policies" not in RESOURCES[fn.logical_id]["Properties"]  # SAM would add its own role


def test_athena_role_grants_exactly_what_the_connector_calls() -> None:
    granted = {a for s in STATEMENTS if s.where.startswith("AthenaConnectorRole/") for a in s.actions}
    assert granted == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:PutObject",  # spilled blocks
        "secretsmanager:GetSecretValue",  # SAAS_SECRET_ARN
        "kms:GenerateDataKey",  # kms_key_id
        "s3:GetObject",  # an s3:// spec
        "dynamodb:UpdateItem",  # the shared quota
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "athena:GetQueryExecution",  # early stop: is the query still running? (its workgroup only)
        *(a for a in RESOURCE_WILDCARD_OK if a.startswith("ec2:")),  # only with SubnetIds
    }
    spill = next(s for s in STATEMENTS if s.body.get("Sid") == "WriteSpilledBlocks")
    assert "${SpillPrefix}/*" in _text(spill.resources)  # only under the spill prefix


def test_shared_quota_table_and_its_grants() -> None:
    """One on-demand table, switched by SharedQuota (on by default), named to both functions, leased from only."""
    from shared.quota.dynamodb import KEY_ATTRIBUTE, TABLE_ENV, TTL_ATTRIBUTE

    assert PARAMETERS["SharedQuota"]["Default"] == "Enabled"
    assert PARAMETERS["SharedQuota"]["AllowedValues"] == ["Enabled", "Disabled"]
    assert TEMPLATE["Conditions"]["SharedQuotaEnabled"] == {"Fn::Equals": [{"Ref": "SharedQuota"}, "Enabled"]}
    table = RESOURCES["QuotaTable"]
    assert table["Type"] == "AWS::DynamoDB::Table" and table["Condition"] == "SharedQuotaEnabled"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    for fn in FUNCTIONS.values():
        assert environment_of(TEMPLATE, fn.logical_id)[TABLE_ENV] == {
            "Fn::If": ["SharedQuotaEnabled", {"Ref": "QuotaTable"}, NO_VALUE]
        }
        role = ROLES[fn.logical_id][0]
        grants = [s for s in STATEMENTS if s.where.startswith(f"{role}/") and any("dynamodb" in a for a in s.actions)]
        assert len(grants) == 1, role
        assert grants[0].actions == ["dynamodb:UpdateItem"]  # the code only ever calls UpdateItem
        assert grants[0].resources == [{"Fn::GetAtt": ["QuotaTable", "Arn"]}]
    # the grants exist only with the table: the statements are conditional on the same condition
    text = _text(RESOURCES["AthenaConnectorRole"]) + _text(RESOURCES["AppFlowConnectorRole"])
    assert text.count('"SharedQuotaEnabled"') == 2


def test_appflow_role_reads_only_its_connections_secrets() -> None:
    statement = next(
        s
        for s in STATEMENTS
        if s.where.startswith("AppFlowConnectorRole/") and "secretsmanager:GetSecretValue" in s.actions
    )
    assert statement.resources == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
            "appflow!${AWS::AccountId}-${ConnectorLabel}-*"
        }
    ]


# ---------------------------------------------------------------------------------------------------
# Buckets
# ---------------------------------------------------------------------------------------------------
def _encrypted_and_private(logical_id: str) -> None:
    props = RESOURCES[logical_id]["Properties"]
    rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rules and rules[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    policies = [
        r
        for r in resources_of_type(TEMPLATE, "AWS::S3::BucketPolicy").values()
        if r["Properties"]["Bucket"] == {"Ref": logical_id}
    ]
    assert len(policies) == 1, f"{logical_id} needs one bucket policy"
    denies = [s for s in policies[0]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and s["Principal"] == "*" for s in denies)


def test_spill_bucket_encrypted_private_tls_only_and_expiring() -> None:
    bucket = RESOURCES["AthenaSpillBucket"]
    assert bucket["Condition"] == "CreateSpillBucket"
    assert TEMPLATE["Conditions"]["CreateSpillBucket"] == {"Fn::Equals": [{"Ref": "SpillBucket"}, ""]}
    _encrypted_and_private("AthenaSpillBucket")
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = [r for r in rules if r["Status"] == "Enabled" and "ExpirationInDays" in r]
    assert expiring and expiring[0]["ExpirationInDays"] == {"Ref": "SpillExpirationDays"}
    assert PARAMETERS["SpillExpirationDays"]["Default"] == 1


def test_landing_bucket_encrypted_private_tls_only() -> None:
    _encrypted_and_private("LandingBucket")
    assert RESOURCES["LandingBucket"]["DeletionPolicy"] == "Retain"  # the landed data outlives the stack


# ---------------------------------------------------------------------------------------------------
# Athena catalog, AppFlow ordering, the optional example
# ---------------------------------------------------------------------------------------------------
def test_athena_data_catalog_is_the_lambda() -> None:
    catalog = RESOURCES["AthenaDataCatalog"]
    assert catalog["Type"] == "AWS::Athena::DataCatalog"
    assert catalog["Properties"]["Type"] == "LAMBDA"
    assert catalog["Properties"]["Name"] == {"Ref": "AthenaCatalogName"}
    assert catalog["Properties"]["Parameters"] == {"function": {"Fn::GetAtt": ["AthenaConnectorFunction", "Arn"]}}
    assert RESOURCES["AthenaConnectorFunction"]["Properties"]["FunctionName"] == {"Ref": "AthenaCatalogName"}


def _depends_on(logical_id: str) -> list[str]:
    value = RESOURCES[logical_id].get("DependsOn", [])
    return [value] if isinstance(value, str) else value


def test_appflow_registration_depends_on_the_invoke_permission() -> None:
    permission = RESOURCES["AppFlowInvokePermission"]
    assert permission["Type"] == "AWS::Lambda::Permission"
    props = permission["Properties"]
    assert props["FunctionName"] == {"Fn::GetAtt": ["AppFlowConnectorFunction", "Arn"]}
    assert props["Action"] == "lambda:InvokeFunction"
    assert props["Principal"] == "appflow.amazonaws.com"
    assert props["SourceAccount"] == {"Ref": "AWS::AccountId"}  # confused-deputy guard
    assert props["SourceArn"] == {"Fn::Sub": "arn:${AWS::Partition}:appflow:${AWS::Region}:${AWS::AccountId}:*"}
    connector = RESOURCES["AppFlowConnector"]
    assert connector["Type"] == "AWS::AppFlow::Connector"
    assert "AppFlowInvokePermission" in _depends_on("AppFlowConnector")  # registration invokes the function
    assert connector["Properties"]["ConnectorProvisioningType"] == "LAMBDA"
    assert connector["Properties"]["ConnectorProvisioningConfig"]["Lambda"]["LambdaArn"] == {
        "Fn::GetAtt": ["AppFlowConnectorFunction", "Arn"]
    }


def test_example_connection_and_flow() -> None:
    example = {
        "ExampleConnectorProfile",
        "LandingBucket",
        "LandingBucketPolicy",
        "LandingDatabase",
        "AppFlowGlueRole",
        "ExampleFlow",
        "ExampleWriteBackFlow",
    }
    for logical_id in example:
        assert RESOURCES[logical_id].get("Condition") == "CreateExample", logical_id
    assert TEMPLATE["Conditions"]["CreateExample"] == {"Fn::Equals": [{"Ref": "CreateExampleFlow"}, "true"]}
    assert PARAMETERS["CreateExampleFlow"]["Default"] == "false"
    profile = RESOURCES["ExampleConnectorProfile"]["Properties"]
    assert profile["ConnectorType"] == "CustomConnector"
    assert profile["ConnectorLabel"] == {"Ref": "AppFlowConnector"}  # after the registration
    flow = RESOURCES["ExampleFlow"]
    assert "LandingBucketPolicy" in _depends_on("ExampleFlow")
    props = flow["Properties"]
    assert props["SourceFlowConfig"]["ConnectorProfileName"] == {"Ref": "ExampleConnectorProfile"}
    assert props["TriggerConfig"]["TriggerType"] == "Scheduled"
    assert props["TriggerConfig"]["TriggerProperties"]["DataPullMode"] == "Incremental"
    assert props["SourceFlowConfig"]["IncrementalPullConfig"]["DatetimeTypeFieldName"] == {
        "Ref": "ExampleIncrementalField"
    }
    s3 = props["DestinationFlowConfigList"][0]["DestinationConnectorProperties"]["S3"]
    assert s3["S3OutputFormatConfig"]["FileType"] == "PARQUET"
    assert s3["BucketName"] == {"Ref": "LandingBucket"}
    glue = props["MetadataCatalogConfig"]["GlueDataCatalog"]
    assert glue["DatabaseName"] == {"Ref": "LandingDatabase"}
    assert glue["RoleArn"] == {"Fn::GetAtt": ["AppFlowGlueRole", "Arn"]}
    # the connection's API key is a dynamic reference to the secret, never a plain parameter
    assert "{{resolve:secretsmanager:${SaaSSecretArn}:SecretString:api_key}}" in _text(profile)
    assert TEMPLATE["Rules"]["ExampleFlowNeedsTheSecret"]["Assertions"]


def test_example_write_back_flow_closes_the_loop() -> None:
    """SageMaker's results (JSON lines under ExampleResultsPrefix in the landing bucket) go back to the SaaS
    through this connector as a destination: UPDATE by the id field, failures kept in the bucket."""
    flow = RESOURCES["ExampleWriteBackFlow"]
    assert flow["Type"] == "AWS::AppFlow::Flow"
    assert "LandingBucketPolicy" in _depends_on("ExampleWriteBackFlow")
    props = flow["Properties"]
    assert props["TriggerConfig"] == {"TriggerType": "OnDemand"}
    source = props["SourceFlowConfig"]
    assert source["ConnectorType"] == "S3"
    s3 = source["SourceConnectorProperties"]["S3"]
    assert s3 == {
        "BucketName": {"Ref": "LandingBucket"},
        "BucketPrefix": {"Ref": "ExampleResultsPrefix"},
        "S3InputFormatConfig": {"S3InputFileType": "JSON"},
    }
    (destination,) = props["DestinationFlowConfigList"]
    assert destination["ConnectorType"] == "CustomConnector"
    assert destination["ConnectorProfileName"] == {"Ref": "ExampleConnectorProfile"}
    custom = destination["DestinationConnectorProperties"]["CustomConnector"]
    assert custom["EntityName"] == {"Ref": "ExampleEntity"}
    assert custom["WriteOperationType"] == "UPDATE"
    assert custom["IdFieldNames"] == [{"Ref": "ExampleIdField"}]
    assert custom["ErrorHandlingConfig"]["BucketName"] == {"Ref": "LandingBucket"}
    # its runtime settings are the connector's DESTINATION-scoped ones
    from appflow_connector.settings import DESTINATION_SETTINGS

    assert set(custom["CustomProperties"]) <= set(DESTINATION_SETTINGS)
    mapped = {t["DestinationField"]["Ref"] for t in props["Tasks"] if t["TaskType"] == "Map"}
    assert mapped == {"ExampleIdField", "ExampleWriteBackField"}
    # AppFlow may read the results folder, and only it
    policy = RESOURCES["LandingBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    reads = next(s for s in policy if s.get("Sid") == "AppFlowReadsResults")
    assert reads["Principal"] == {"Service": "appflow.amazonaws.com"}
    assert set(reads["Action"]) == {"s3:GetObject", "s3:ListBucket"}
    assert {"Fn::Sub": "${LandingBucket.Arn}/${ExampleResultsPrefix}/*"} in reads["Resource"]
    assert reads["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


# ---------------------------------------------------------------------------------------------------
# Parameters and outputs
# ---------------------------------------------------------------------------------------------------
def test_parameters_in_the_official_connectors_style() -> None:
    for name in (
        "AthenaCatalogName",
        "SpillBucket",
        "SpillPrefix",
        "LambdaMemory",
        "LambdaTimeout",
        "DisableSpillEncryption",
        "KMSKeyId",
        "PermissionsBoundaryARN",
        "SaaSSecretArn",
        "SaaSSpec",
    ):
        assert name in PARAMETERS, name
    assert PARAMETERS["SpillBucket"]["Default"] == ""  # created when not given
    assert PARAMETERS["SaaSSpec"]["Default"] == "demo"
    assert PARAMETERS["DisableSpillEncryption"]["Default"] == "false"
    assert re.fullmatch(PARAMETERS["AthenaCatalogName"]["AllowedPattern"], PARAMETERS["AthenaCatalogName"]["Default"])
    assert not re.fullmatch(PARAMETERS["AthenaCatalogName"]["AllowedPattern"], "Upper")  # SQL lower-cases it
    for name, parameter in PARAMETERS.items():
        assert parameter.get("Description"), f"parameter {name} needs a description (sam deploy --guided shows it)"


def test_outputs_tell_the_user_what_to_type_next() -> None:
    outputs = TEMPLATE["Outputs"]
    assert outputs["AthenaCatalogName"]["Value"] == {"Ref": "AthenaDataCatalog"}
    assert "SELECT * FROM" in _text(outputs["AthenaExampleQuery"]["Value"])
    assert "read_sql_query" in _text(outputs["SageMakerExample"]["Value"])
    for name in ("QueryAccessPolicyArn", "SpillBucketName", "AppFlowConnectorLabel", "AppFlowConnectorArn"):
        assert name in outputs
    for name in ("ExampleFlowName", "LandingLocation", "LandingGlueDatabase"):
        assert outputs[name]["Condition"] == "CreateExample"


def test_every_parameter_is_documented() -> None:
    text = (REPO / "docs" / "deploying.md").read_text(encoding="utf-8")
    undocumented = [name for name in PARAMETERS if f"`{name}`" not in text]
    assert not undocumented, f"docs/deploying.md does not describe: {undocumented}"


# ---------------------------------------------------------------------------------------------------
# The string tricks in Conditions, evaluated the way CloudFormation does
# ---------------------------------------------------------------------------------------------------
def _evaluate(node: Any, params: dict[str, str]) -> Any:
    if isinstance(node, str):
        return node
    if "Ref" in node:
        return params[node["Ref"]]
    ((fn, args),) = node.items()
    if fn == "Fn::Sub":
        text, local = (args, {}) if isinstance(args, str) else (args[0], args[1])
        values = {**params, **{k: _evaluate(v, params) for k, v in local.items()}}
        return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], text)
    if fn == "Fn::Join":
        return args[0].join(_evaluate(item, params) for item in _evaluate(args[1], params))
    if fn == "Fn::Split":
        return _evaluate(args[1], params).split(args[0])
    if fn == "Fn::Select":
        return _evaluate(args[1], params)[int(args[0])]
    if fn == "Fn::Equals":
        return _evaluate(args[0], params) == _evaluate(args[1], params)
    raise AssertionError(f"no evaluator for {fn}")


@pytest.mark.parametrize(
    ("spec", "in_s3", "path"),
    [
        ("demo", False, ""),
        ("shared/specs/json_server.yaml", False, ""),
        ("s3://my-bucket/specs/crm.yaml", True, "my-bucket/specs/crm.yaml"),
    ],
)
def test_spec_in_s3_condition(spec: str, in_s3: bool, path: str) -> None:
    assert _evaluate(TEMPLATE["Conditions"]["SpecInS3"], {"SaaSSpec": spec}) is in_s3
    statement = next(s for s in STATEMENTS if s.body.get("Sid") == "ReadSpec")
    path_expr = statement.body["Resource"]["Fn::Sub"][1]["Path"]
    assert _evaluate(path_expr, {"SaaSSpec": spec}) == path


@pytest.mark.parametrize(
    ("key", "is_arn"),
    [
        ("1234abcd-12ab-34cd-56ef-1234567890ab", False),
        ("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", True),
    ],
)
def test_kms_key_condition(key: str, is_arn: bool) -> None:
    assert re.fullmatch(PARAMETERS["KMSKeyId"]["AllowedPattern"], key)
    assert _evaluate(TEMPLATE["Conditions"]["KmsKeyIsArn"], {"KMSKeyId": key}) is is_arn


# Patterns from the CloudFormation resource schemas (as bundled in cfn-lint); cfn-lint cannot check a !Sub.
NAME_PATTERNS = [
    ("AppFlowConnector", "Description", r"[\s\w/!@#+=.-]*"),
    ("AppFlowConnector", "ConnectorLabel", r"[a-zA-Z0-9][\w!@#.-]+"),
    ("ExampleConnectorProfile", "ConnectorProfileName", r"[\w/!@#+=.-]+"),
    ("ExampleFlow", "FlowName", r"[a-zA-Z0-9][\w!@#.-]+"),
    ("ExampleFlow", "Description", r"[\w!@#\-.?,\s]*"),
    ("ExampleWriteBackFlow", "FlowName", r"[a-zA-Z0-9][\w!@#.-]+"),
    ("ExampleWriteBackFlow", "Description", r"[\w!@#\-.?,\s]*"),
    ("AthenaConnectorFunction", "FunctionName", r"[a-zA-Z0-9_-]{1,64}"),  # Lambda function names
    ("AppFlowConnectorFunction", "FunctionName", r"[a-zA-Z0-9_-]{1,64}"),
]


@pytest.mark.parametrize("label", ["saas-connector", "ab", "x" * 48, "My_Label-2"])
@pytest.mark.parametrize(("logical_id", "prop", "pattern"), NAME_PATTERNS)
def test_generated_names_fit_their_patterns(label: str, logical_id: str, prop: str, pattern: str) -> None:
    assert re.fullmatch(PARAMETERS["ConnectorLabel"]["AllowedPattern"], label)
    params = {name: str(p.get("Default", "")) for name, p in PARAMETERS.items()}
    params |= {"ConnectorLabel": label, "AthenaCatalogName": "x" * 64, "AWS::AccountId": "123456789012"}
    params |= {"AppFlowConnector": label, "LandingBucket": "stack-landingbucket-abc", "ExampleConnectorProfile": "p"}
    value = _evaluate(RESOURCES[logical_id]["Properties"][prop], params)
    assert re.fullmatch(pattern, value), f"{logical_id}.{prop} = {value!r}"
