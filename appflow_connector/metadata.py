"""ListEntities and DescribeEntity, from the spec alone (no API call: AppFlow gives these 10 s).

Type mapping (spec kind -> AppFlow FieldDataType):

==========  ==========  =================================================
spec        AppFlow     record value
==========  ==========  =================================================
string      String      string
int32       Integer     number
int64       Long        number
number      Double      number
decimal     BigDecimal  number with the exact digits
boolean     Boolean     true / false
date        Date        "YYYY-MM-DD"
timestamp   DateTime    "2024-01-31T12:00:00Z"
json        String      the JSON text (arbitrary JSON has no fixed shape)
list<T>     List        array
object      Struct      object
==========  ==========  =================================================

Filter operators come from the spec's ``filters`` of each field (what the API can at least partly
evaluate; the connector applies the rest exactly): ``eq``/``in`` -> EQUAL_TO, ``ne`` -> NOT_EQUAL_TO, a
lower bound -> GREATER_THAN(_OR_EQUAL_TO), an upper bound -> LESS_THAN(_OR_EQUAL_TO), any bound ->
BETWEEN; a child entity's parent-link fields take EQUAL_TO; the incremental field takes every range
operator, as AppFlow builds its time window on it.
"""

from __future__ import annotations

from appflow_connector.errors import invalid_argument, to_details
from appflow_connector.runtime import Runtime, entity_of
from appflow_connector.sdk import (
    CacheControl,
    ConnectorOperator,
    Entity,
    EntityDefinition,
    FieldDataType,
    FieldDefinition,
    MetadataHandler,
    ReadOperationProperty,
    TimeUnit,
    WriteOperationProperty,
    WriteOperationType,
    requests,
    responses,
)
from appflow_connector.settings import label
from shared.predicates import Op
from shared.spec.model import EntitySpec, FieldSpec, SourceSpec
from shared.types import FieldType

CACHE_TTL_S = 3600

DATA_TYPES = {
    "string": FieldDataType.String,
    "int32": FieldDataType.Integer,
    "int64": FieldDataType.Long,
    "number": FieldDataType.Double,
    "decimal": FieldDataType.BigDecimal,
    "boolean": FieldDataType.Boolean,
    "date": FieldDataType.Date,
    "timestamp": FieldDataType.DateTime,
    "json": FieldDataType.String,
    "list": FieldDataType.List,
    "object": FieldDataType.Struct,
}

WRITE_OPS = {
    "create": WriteOperationType.INSERT,
    "update": WriteOperationType.UPDATE,
    "upsert": WriteOperationType.UPSERT,
    "delete": WriteOperationType.DELETE,
}
RANGE_OPERATORS = [
    ConnectorOperator.GREATER_THAN,
    ConnectorOperator.GREATER_THAN_OR_EQUAL_TO,
    ConnectorOperator.LESS_THAN,
    ConnectorOperator.LESS_THAN_OR_EQUAL_TO,
    ConnectorOperator.BETWEEN,
]
OPERATOR_ORDER = [
    ConnectorOperator.EQUAL_TO,
    ConnectorOperator.NOT_EQUAL_TO,
    *RANGE_OPERATORS,
    ConnectorOperator.CONTAINS,
]


def cache_control() -> CacheControl:
    return CacheControl(CACHE_TTL_S, TimeUnit.SECONDS)


def data_type(ftype: FieldType) -> FieldDataType:
    return DATA_TYPES[ftype.kind]


def is_incremental(entity: EntitySpec, f: FieldSpec) -> bool:
    return entity.incremental_field == f.name and f.type.kind in ("timestamp", "date")


def filter_operators(entity: EntitySpec, f: FieldSpec) -> list[ConnectorOperator]:
    ops: set[ConnectorOperator] = set()
    declared = set(f.filters)
    if declared & {Op.EQ, Op.IN}:
        ops.add(ConnectorOperator.EQUAL_TO)
    if Op.NE in declared:
        ops.add(ConnectorOperator.NOT_EQUAL_TO)
    if f.type.is_orderable:
        if declared & {Op.GT, Op.GE, Op.BETWEEN}:
            ops |= {ConnectorOperator.GREATER_THAN, ConnectorOperator.GREATER_THAN_OR_EQUAL_TO}
        if declared & {Op.LT, Op.LE, Op.BETWEEN}:
            ops |= {ConnectorOperator.LESS_THAN, ConnectorOperator.LESS_THAN_OR_EQUAL_TO}
        if declared & {Op.GT, Op.GE, Op.LT, Op.LE, Op.BETWEEN}:
            ops.add(ConnectorOperator.BETWEEN)
    if entity.parent is not None and f.name in entity.parent.fields:
        ops.add(ConnectorOperator.EQUAL_TO)
    if is_incremental(entity, f):
        ops |= set(RANGE_OPERATORS)
    return [op for op in OPERATOR_ORDER if op in ops]


def children_of(spec: SourceSpec, name: str) -> list[EntitySpec]:
    return [e for e in spec.entities if e.parent is not None and e.parent.entity == name]


def entity_summary(spec: SourceSpec, entity: EntitySpec, *, nested: bool | None = None) -> Entity:
    has_children = bool(children_of(spec, entity.name)) if nested is None else nested
    return Entity(
        entity_identifier=entity.name,
        has_nested_entities=has_children,
        is_writable=entity.writable,
        label=label(entity.name),
        description=entity.description or label(entity.name),
    )


def list_entities(spec: SourceSpec, path: str | None) -> list[Entity]:
    """Top level: the root entities (``hasNestedEntities`` when they have child entities).

    With ``entitiesPath`` = an entity: that entity itself (as a leaf, so it stays selectable inside its
    own folder) followed by its children. Identifiers are always plain entity names.
    """
    if not path:
        return [entity_summary(spec, e) for e in spec.entities if e.parent is None]
    name = path.strip().strip("/").split("/")[-1]
    try:
        entity = spec.entity(name)
    except KeyError:
        raise invalid_argument(
            f"entitiesPath '{path}' names no entity (entities: {', '.join(spec.entity_names)})"
        ) from None
    return [entity_summary(spec, entity, nested=False)] + [
        entity_summary(spec, child) for child in children_of(spec, entity.name)
    ]


def _write_properties(entity: EntitySpec, f: FieldSpec) -> WriteOperationProperty | None:
    if not entity.writable:
        return None
    writes = entity.writes
    is_key = f.name in entity.primary_key
    id_ops = [
        WRITE_OPS[op] for op in ("update", "upsert", "delete") if op in writes and "{" + f.name + "}" in writes[op].path
    ]
    return WriteOperationProperty(
        is_creatable=f.writable and "create" in writes,
        is_updatable=f.writable and "update" in writes,
        is_nullable=f.nullable,
        is_upsertable=(f.writable or (is_key and bool(id_ops))) and "upsert" in writes,
        is_defaulted_on_create=not f.writable,
        supported_write_operations=id_ops if is_key and id_ops else None,
    )


def field_definition(entity: EntitySpec, f: FieldSpec) -> FieldDefinition:
    operators = filter_operators(entity, f)
    return FieldDefinition(
        field_name=f.name,
        data_type=data_type(f.type),
        data_type_label=str(f.type),
        label=label(f.name),
        description=f.description or None,
        is_primary_key=f.name in entity.primary_key,
        read_properties=ReadOperationProperty(
            is_retrievable=True,
            is_nullable=f.nullable,
            is_queryable=bool(operators),
            is_timestamp_field_for_incremental_queries=is_incremental(entity, f),
        ),
        write_properties=_write_properties(entity, f),
        filter_operators=operators,
    )


def describe(spec: SourceSpec, entity: EntitySpec) -> EntityDefinition:
    return EntityDefinition(
        entity=entity_summary(spec, entity),
        fields=[field_definition(entity, f) for f in entity.fields],
        custom_properties=None,
    )


class ConnectorMetadataHandler(MetadataHandler):
    """ListEntities / DescribeEntity; failures come back as ``isSuccess: false``, never raised."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def list_entities(self, request: requests.ListEntitiesRequest) -> responses.ListEntitiesResponse:
        try:
            spec = self.runtime.spec()
            entities = list_entities(spec, request.entities_path)
            start = _list_offset(request.next_token)
            size = request.max_result if isinstance(request.max_result, int) and request.max_result > 0 else None
            page = entities[start : start + size] if size else entities[start:]
            more = size is not None and start + size < len(entities)
            return responses.ListEntitiesResponse(
                is_success=True,
                entities=page,
                next_token=f"{LIST_TOKEN_PREFIX}{start + size}" if more and size else None,
                cache_control=cache_control(),
            )
        except Exception as exc:
            return responses.ListEntitiesResponse(is_success=False, error_details=to_details(exc))

    def describe_entity(self, request: requests.DescribeEntityRequest) -> responses.DescribeEntityResponse:
        try:
            spec = self.runtime.spec()
            entity = entity_of(spec, request.entity_identifier)
            return responses.DescribeEntityResponse(
                is_success=True, entity_definition=describe(spec, entity), cache_control=cache_control()
            )
        except Exception as exc:
            return responses.DescribeEntityResponse(is_success=False, error_details=to_details(exc))


LIST_TOKEN_PREFIX = "entities:"


def _list_offset(token: str | None) -> int:
    if not token:
        return 0
    text = str(token)
    if not text.startswith(LIST_TOKEN_PREFIX) or not text[len(LIST_TOKEN_PREFIX) :].isdigit():
        raise invalid_argument("nextToken is not one this connector issued for ListEntities")
    return int(text[len(LIST_TOKEN_PREFIX) :])
