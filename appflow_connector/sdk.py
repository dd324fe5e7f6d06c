"""The one place that imports ``custom-connector-sdk`` (pinned 1.0.5), so its quirks are handled once.

Importing ``custom_connector_sdk.connector.auth`` emits a DeprecationWarning on Python 3.11/3.12
(``AuthenticationType.BasicAuth = auto`` instead of ``auto()``); with warnings turned into errors that
import would fail, so it is silenced here for that module only. Python 3.13 cannot import the SDK at all.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"custom_connector_sdk\..*")
    warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*auto\(\).*")
    from custom_connector_sdk.connector import auth as sdk_auth
    from custom_connector_sdk.connector import configuration as sdk_configuration
    from custom_connector_sdk.connector import context as sdk_context
    from custom_connector_sdk.connector import fields as sdk_fields
    from custom_connector_sdk.connector import settings as sdk_settings
    from custom_connector_sdk.lambda_handler import handlers as sdk_handlers
    from custom_connector_sdk.lambda_handler import lambda_handler as sdk_lambda_handler
    from custom_connector_sdk.lambda_handler import requests as sdk_requests
    from custom_connector_sdk.lambda_handler import responses as sdk_responses

AuthenticationType = sdk_auth.AuthenticationType
AuthenticationConfig = sdk_auth.AuthenticationConfig
AuthParameter = sdk_auth.AuthParameter
CustomAuthConfig = sdk_auth.CustomAuthConfig
Credentials = sdk_auth.Credentials
OAuth2Defaults = sdk_auth.OAuth2Defaults
OAuth2GrantType = sdk_auth.OAuth2GrantType

ConnectorModes = sdk_configuration.ConnectorModes
ConnectorOperator = sdk_configuration.ConnectorOperator
TriggerFrequency = sdk_configuration.TriggerFrequency
TriggerType = sdk_configuration.TriggerType

ConnectorContext = sdk_context.ConnectorContext
Entity = sdk_context.Entity
EntityDefinition = sdk_context.EntityDefinition

FieldDataType = sdk_fields.FieldDataType
FieldDefinition = sdk_fields.FieldDefinition
ReadOperationProperty = sdk_fields.ReadOperationProperty
WriteOperationProperty = sdk_fields.WriteOperationProperty
WriteOperationType = sdk_fields.WriteOperationType

CacheControl = sdk_settings.CacheControl
ConnectorRuntimeSetting = sdk_settings.ConnectorRuntimeSetting
ConnectorRuntimeSettingDataType = sdk_settings.ConnectorRuntimeSettingDataType
ConnectorRuntimeSettingScope = sdk_settings.ConnectorRuntimeSettingScope
TimeUnit = sdk_settings.TimeUnit

ConfigurationHandler = sdk_handlers.ConfigurationHandler
MetadataHandler = sdk_handlers.MetadataHandler
RecordHandler = sdk_handlers.RecordHandler
BaseLambdaConnectorHandler = sdk_lambda_handler.BaseLambdaConnectorHandler

requests = sdk_requests
responses = sdk_responses
ErrorCode = sdk_responses.ErrorCode
ErrorDetails = sdk_responses.ErrorDetails
WriteRecordResult = sdk_responses.WriteRecordResult

# Request type names, as AppFlow sends them in ``event["type"]``.
VALIDATE_CONNECTOR_RUNTIME_SETTINGS = sdk_lambda_handler.VALIDATE_CONNECTOR_RUNTIME_SETTINGS
VALIDATE_CREDENTIALS = sdk_lambda_handler.VALIDATE_CREDENTIALS
DESCRIBE_CONNECTOR_CONFIGURATION = sdk_lambda_handler.DESCRIBE_CONNECTOR_CONFIGURATION
LIST_ENTITIES = sdk_lambda_handler.LIST_ENTITIES
DESCRIBE_ENTITY = sdk_lambda_handler.DESCRIBE_ENTITY
RETRIEVE_DATA = sdk_lambda_handler.RETRIEVE_DATA
WRITE_DATA = sdk_lambda_handler.WRITE_DATA
QUERY_DATA = sdk_lambda_handler.QUERY_DATA
