"""Query passthrough: ``SELECT * FROM TABLE(system.query(query => 'contacts?status=customer&country=NL'))``.

The one argument, ``QUERY``, names one entity the spec declares, optionally followed by ``?`` and API query
parameters (URL-encoded, as in a URL). The connector reads that entity with exactly those parameters added
to the entity's fixed ones (a parameter given here replaces a fixed one of the same name), through the
entity's own pagination, and returns every declared field. It cannot reach any other path: an undeclared
entity, or a parameter the paginator or the API key owns, is refused with a message saying what is allowed.

Signature advertised in GetDataSourceCapabilities: schema ``system``, name ``query``, argument ``QUERY``
(arguments are matched case-insensitively; the engine also sends ``schemaFunctionName``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from athena_connector.errors import InvalidInputException, OperationNotSupportedException
from athena_connector.runtime import Runtime
from shared.pushdown import QueryPlan
from shared.spec.model import EntitySpec

SCHEMA = "system"
NAME = "query"
ARGUMENT = "QUERY"
SIGNATURE = f"{SCHEMA}.{NAME}".upper()
SCHEMA_FUNCTION_NAME = "schemafunctionname"


@dataclass(frozen=True)
class PassthroughQuery:
    entity: EntitySpec
    params: tuple[tuple[str, str], ...]
    text: str

    def plan(self, fields: tuple[str, ...]) -> QueryPlan:
        given = {k for k, _ in self.params}
        fixed = tuple((k, v) for k, v in self.entity.params.items() if k not in given)
        return QueryPlan(
            entity=self.entity.name,
            params=fixed + self.params,
            pushed=(),
            residual=(),
            fields=fields or self.entity.field_names,
        )


def reserved_params(runtime: Runtime, entity: EntitySpec) -> set[str]:
    """Parameter names owned by pagination or authentication, which a passthrough query may not set."""
    pagination = runtime.spec.pagination_for(entity)
    names = {str(v) for k, v in pagination.options.items() if k.endswith("_param") and v}
    auth = runtime.spec.api.auth
    if auth.type == "api_key" and auth.params.get("in") == "query" and auth.params.get("name"):
        names.add(str(auth.params["name"]))
    return names


def parse_passthrough(arguments: Mapping[str, str], runtime: Runtime) -> PassthroughQuery:
    if not runtime.config.enable_query_passthrough:
        raise OperationNotSupportedException(
            "query passthrough is disabled on this connector (enable_query_passthrough=false)"
        )
    lowered = {k.lower(): v for k, v in arguments.items()}
    function = lowered.pop(SCHEMA_FUNCTION_NAME, None)
    if function is not None and function.strip().upper() != SIGNATURE:
        raise InvalidInputException(
            f"unknown passthrough function '{function}'; this connector offers {SCHEMA}.{NAME}({ARGUMENT} => ...)"
        )
    text = lowered.pop(ARGUMENT.lower(), None)
    if lowered:
        raise InvalidInputException(
            f"unknown passthrough argument(s) {', '.join(sorted(lowered))}; {SCHEMA}.{NAME} takes only {ARGUMENT}"
        )
    if text is None or not text.strip():
        raise InvalidInputException(
            f"{SCHEMA}.{NAME} needs the argument {ARGUMENT}, e.g. {ARGUMENT} => 'contacts?status=customer'"
        )
    query = text.strip()
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputException(f"{SCHEMA}.{NAME}: {ARGUMENT} is not valid Unicode text") from None
    name, _, query_string = query.lstrip("/").partition("?")
    name = name.strip().lower()
    declared = sorted(runtime.spec.entity_names)
    if name not in declared:
        raise InvalidInputException(
            f"{SCHEMA}.{NAME}: '{name}' is not an entity of this connector (entities: {', '.join(declared)}); "
            f"{ARGUMENT} is '<entity>?<param>=<value>&...'"
        )
    entity = runtime.spec.entity(name)
    try:
        params = tuple(parse_qsl(query_string, keep_blank_values=True, strict_parsing=True)) if query_string else ()
    except ValueError as exc:
        raise InvalidInputException(f"{SCHEMA}.{NAME}: cannot read the parameters '{query_string}': {exc}") from None
    reserved = reserved_params(runtime, entity)
    clash = sorted({k for k, _ in params} & reserved)
    if clash:
        raise InvalidInputException(
            f"{SCHEMA}.{NAME}: parameter(s) {', '.join(clash)} are set by the connector itself "
            f"(pagination/authentication) and cannot be passed"
        )
    return PassthroughQuery(entity, params, query)
