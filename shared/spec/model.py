"""The loaded, validated description of a SaaS API: plain frozen dataclasses, no behaviour.

The loader (``shared.spec.loader``) builds these from YAML and is the only place that checks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.predicates import Op
from shared.types import FieldType
from shared.value_formats import ValueFormat


@dataclass(frozen=True)
class AuthSpec:
    """How requests authenticate. ``params`` holds templated values such as ``{secret.api_key}``."""

    type: str  # none | api_key | bearer | basic | oauth2_client_credentials | oauth2_refresh_token | hook
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RetrySpec:
    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    retry_after_cap_s: float = 60.0
    on_status: tuple[int, ...] = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class RateLimitSpec:
    requests_per_second: float
    burst: int


@dataclass(frozen=True)
class PaginationSpec:
    """One paginator's settings; ``options`` holds the type-specific keys (param names, body paths)."""

    type: str  # none | offset | page_number | cursor | next_url | link_header | header_cursor | hook
    page_size: int = 100
    max_page_size: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    max_pages: int | None = None
    concurrency: int = 4  # requests one read keeps in flight (offset/page number with a total; else 1 ahead)
    duplicates: str | None = None  # drop | fail | off; None: drop where the entity declares a primary key


@dataclass(frozen=True)
class ParamSpec:
    """How one predicate operator becomes a query parameter."""

    param: str
    format: str = "auto"  # as declared: a name (auto, iso8601_ms, epoch_s...), a pattern, or "literals"
    join: str | None = None  # for ``in``: join values with this separator; None repeats the parameter
    value: str | None = None  # fixed value, for is_null / not_null style flags
    exact: bool = True  # False: the API filters more loosely; the predicate stays in the residual
    # Characters the API's syntax gives meaning to in this parameter's values (list separators, wildcards);
    # None means the default set (shared.pushdown.DEFAULT_RESERVED). A join separator declared for the same
    # parameter is always reserved. A value holding one is escaped with ``escape`` or not pushed.
    reserved: str | None = None
    escape: str | None = None  # the API's escape character for reserved characters, e.g. a backslash
    # How values are written and compared (format, offset, compare, resolved against api.formats by the loader,
    # shared.spec.formats); None writes the type's ``auto`` form.
    written: ValueFormat | None = None
    # ``not_in`` only: whether the API's answer keeps records whose field is null or missing ("included") or
    # drops them as SQL does ("excluded"). The catch-all partition owns the nulls, so it pushes only "included".
    nulls: str | None = None


@dataclass(frozen=True)
class ProjectionSpec:
    """How the wanted source fields are sent (``select_fields_param``): ``joined`` ``?fields=a,b`` (any
    ``join``), ``repeated`` ``?col=a&col=b``, or ``bracketed`` ``?fields[]=a&fields[]=b``."""

    param: str
    style: str = "joined"  # joined | repeated | bracketed
    join: str = ","


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    path: str
    nullable: bool = True
    description: str = ""
    writable: bool = False
    filters: dict[Op, ParamSpec] = field(default_factory=dict)

    @property
    def filter_ops(self) -> tuple[Op, ...]:
        return tuple(self.filters)


@dataclass(frozen=True)
class ParentSpec:
    """A child resource: ``path`` has ``{parent.<field>}`` placeholders filled from each parent record."""

    entity: str
    fields: dict[str, str]  # child field name -> parent field name


@dataclass(frozen=True)
class SplitSpec:
    """How to fan a read out over parallel Athena splits."""

    by: str  # time_window | id_range | parent
    field: str | None = None
    start: Any = None
    end: Any = None
    step: Any = None
    count: int | None = None
    max_splits: int = 64
    max_ids_per_split: int = 200


@dataclass(frozen=True)
class PartitionSpec:
    """Partitions of one entity by a field with a known set of values (each read with ``field = value``).

    ``values`` are typed (coerced to the field's type), unique, in declared order. Rows whose value is none of
    them, or null, belong to the catch-all partition, so a partitioned read still covers every row exactly once.
    """

    field: str
    values: tuple[Any, ...]
    exhaustive: bool = False  # the values are every value the field takes (never null): no catch-all partition


@dataclass(frozen=True)
class CountSpec:
    """How the API tells how many records match a set of filters without returning them (split sizing).

    ``kind`` is ``total_path`` (the list response's body holds the matching total at ``total_path``),
    ``total_header`` (a response header holds it) or ``endpoint`` (a GET of ``path`` with the same filter
    parameters, plus ``params``, answers a body with the number at ``total_path``).
    """

    kind: str  # total_path | total_header | endpoint
    total_path: str | None = None
    header: str | None = None
    path: str | None = None
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SortSpec:
    """How to ask the API for an order (top-N pushdown); see ``shared.spec.ordering`` for the keys.

    ``fields`` maps each sortable field to the name the API sorts it by. ``nulls`` says where the API puts
    records whose field is null: ``largest`` (last ascending, first descending), ``smallest``, ``first``
    (always) or ``last`` (always). ``collation`` is how the API compares text: ``binary`` (by code point, as
    Athena does) or anything else (then its order of text fields is not trusted).
    """

    param: str
    fields: dict[str, str]
    asc: str = "{field}"
    desc: str = "-{field}"
    join: str | None = None  # several keys in one value, separated by this; None: one key only
    nulls: str = "largest"
    collation: str = "binary"


@dataclass(frozen=True)
class SearchSpec:
    """A text search parameter for one field (LIKE pushdown): the API's matching and case rules.

    ``match`` is ``prefix`` (the field starts with the term), ``contains`` (it holds the term) or ``word`` (a
    word of it starts with the term). The pushed term always selects a superset of the LIKE's rows.
    """

    param: ParamSpec
    match: str
    case_sensitive: bool = True
    min_length: int = 1


@dataclass(frozen=True)
class WriteOpSpec:
    method: str
    path: str
    body_path: str | None = None  # wrap the record under this key, e.g. "data"


@dataclass(frozen=True)
class EntitySpec:
    name: str
    path: str
    records: str
    fields: tuple[FieldSpec, ...]
    primary_key: tuple[str, ...] = ()
    description: str = ""
    pagination: PaginationSpec | None = None
    parent: ParentSpec | None = None
    params: dict[str, str] = field(default_factory=dict)
    incremental_field: str | None = None
    select_param: ProjectionSpec | None = None
    splits: SplitSpec | None = None
    partitions: PartitionSpec | None = None
    count: CountSpec | None = None
    writes: dict[str, WriteOpSpec] = field(default_factory=dict)  # create | update | upsert | delete
    get_path: str | None = None  # retrieve one record by primary key
    hooks: dict[str, str] = field(default_factory=dict)  # transform | parse_page | prepare_request
    reader: str | None = None  # module:Class for an entity that fits no declaration
    on_invalid_value: str = "error"  # error | null
    sort: SortSpec | None = None  # how to ask the API for an order (top-N pushdown)
    search: dict[str, tuple[SearchSpec, ...]] = field(default_factory=dict)  # field -> its search parameters

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def writable(self) -> bool:
        return bool(self.writes)


@dataclass(frozen=True)
class ApiSpec:
    name: str
    base_url: str
    auth: AuthSpec
    title: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    retry: RetrySpec = field(default_factory=RetrySpec)
    rate_limit: RateLimitSpec | None = None
    pagination: PaginationSpec = field(default_factory=lambda: PaginationSpec("none"))
    hook_modules: tuple[str, ...] = ()
    check_path: str | None = None  # a cheap GET used to validate credentials
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # runtime settings (config.*)
    formats: dict[str, Any] = field(default_factory=dict)  # per-type default filter formats (shared.spec.formats)


@dataclass(frozen=True)
class SourceSpec:
    api: ApiSpec
    entities: tuple[EntitySpec, ...]
    source: str = "<spec>"

    def entity(self, name: str) -> EntitySpec:
        for e in self.entities:
            if e.name == name:
                return e
        raise KeyError(name)

    @property
    def entity_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entities)

    def pagination_for(self, entity: EntitySpec) -> PaginationSpec:
        return entity.pagination or self.api.pagination
