"""Wire layer of the Athena Query Federation connector: the protocol only, no SaaS logic, no S3 calls.

Covers:

* Requests (``requests``): PingRequest, ListSchemasRequest, ListTablesRequest, GetTableRequest,
  GetTableLayoutRequest, GetSplitsRequest, ReadRecordsRequest, GetDataSourceCapabilitiesRequest,
  UserDefinedFunctionRequest as frozen dataclasses; ``parse_request`` accepts every dialect V1..V6 by key
  and raises ``WireError`` (a ValueError) with a located message for malformed events.
* Constraints (``constraints``): ValueSets (SortedRangeSet with Range/Marker bounds, EquatableValueSet,
  AllOrNoneValueSet) with values decoded from their Arrow blocks, V4 expression trees, ORDER BY, LIMIT,
  V5 passthrough arguments, V6 query plan (opaque).
* Responses (``responses``): every response dataclass, the Lambda error shape, and ``to_wire`` emitting
  keys in the exact order the SDK's streaming parsers demand (``RESPONSE_KEY_ORDER``).
* Arrow (``arrow_ipc``, ``blocks``, ``arrow_types``, ``values``, ``timestamps``): one encapsulated IPC
  message per base64 string in the legacy (V2) or modern (V3+) framing, Blocks, ArrowType JSON, the
  Athena type whitelist, date64 ``timestamp`` and Presto-packed ``timestamp with time zone`` values.
* Splits and spill (``splits``, ``block_crypto``, ``spill_format``): S3SpillLocation, EncryptionKey,
  Split, AES-GCM block encryption as the SDK does it, and the byte content of spill objects.
* Versions (``versions``): we declare serde version 5 and capabilities 24 in PingResponse.
"""

from athena_connector.wire.arrow_ipc import decode_records, decode_schema, encode_records, encode_schema
from athena_connector.wire.arrow_types import ArrowType, unsupported_type_problem
from athena_connector.wire.block_crypto import decrypt, encrypt, generate_key
from athena_connector.wire.blocks import Block
from athena_connector.wire.common import FederatedIdentity, TableName
from athena_connector.wire.constraints import (
    AllOrNoneValueSet,
    Bound,
    ConstantExpression,
    Constraints,
    EquatableValueSet,
    Expression,
    FunctionCallExpression,
    Marker,
    OrderByField,
    QueryPlan,
    Range,
    SortDirection,
    SortedRangeSet,
    ValueSet,
    VariableExpression,
)
from athena_connector.wire.errors import FederationThrottleException, WireError
from athena_connector.wire.requests import (
    GetDataSourceCapabilitiesRequest,
    GetSplitsRequest,
    GetTableLayoutRequest,
    GetTableRequest,
    ListSchemasRequest,
    ListTablesRequest,
    PingRequest,
    ReadRecordsRequest,
    Request,
    UserDefinedFunctionRequest,
    parse_request,
)
from athena_connector.wire.responses import (
    GetDataSourceCapabilitiesResponse,
    GetSplitsResponse,
    GetTableLayoutResponse,
    GetTableResponse,
    LambdaError,
    ListSchemasResponse,
    ListTablesResponse,
    OptimizationSubType,
    PingResponse,
    ReadRecordsResponse,
    RemoteReadRecordsResponse,
    Response,
    UserDefinedFunctionResponse,
    to_wire,
)
from athena_connector.wire.spill_format import decode_spill_object, encode_spill_object
from athena_connector.wire.splits import EncryptionKey, S3SpillLocation, Split
from athena_connector.wire.versions import CAPABILITIES, SERDE_VERSION, IpcFraming

__all__ = [
    "CAPABILITIES",
    "SERDE_VERSION",
    "AllOrNoneValueSet",
    "ArrowType",
    "Block",
    "Bound",
    "ConstantExpression",
    "Constraints",
    "EncryptionKey",
    "EquatableValueSet",
    "Expression",
    "FederatedIdentity",
    "FederationThrottleException",
    "FunctionCallExpression",
    "GetDataSourceCapabilitiesRequest",
    "GetDataSourceCapabilitiesResponse",
    "GetSplitsRequest",
    "GetSplitsResponse",
    "GetTableLayoutRequest",
    "GetTableLayoutResponse",
    "GetTableRequest",
    "GetTableResponse",
    "IpcFraming",
    "LambdaError",
    "ListSchemasRequest",
    "ListSchemasResponse",
    "ListTablesRequest",
    "ListTablesResponse",
    "Marker",
    "OptimizationSubType",
    "OrderByField",
    "PingRequest",
    "PingResponse",
    "QueryPlan",
    "Range",
    "ReadRecordsRequest",
    "ReadRecordsResponse",
    "RemoteReadRecordsResponse",
    "Request",
    "Response",
    "S3SpillLocation",
    "SortDirection",
    "SortedRangeSet",
    "Split",
    "TableName",
    "UserDefinedFunctionRequest",
    "UserDefinedFunctionResponse",
    "ValueSet",
    "VariableExpression",
    "WireError",
    "decode_records",
    "decode_schema",
    "decode_spill_object",
    "decrypt",
    "encode_records",
    "encode_schema",
    "encode_spill_object",
    "encrypt",
    "generate_key",
    "parse_request",
    "to_wire",
    "unsupported_type_problem",
]
