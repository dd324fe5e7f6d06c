"""GetDataSourceCapabilities: advertise exactly the optimizations the connector enforces itself.

* ``supports_filter_pushdown`` (sorted_range_set, equatable_range_set, all_or_none_value_set,
  nullable_comparison): every ValueSet of ``constraints.summary`` is re-applied exactly to each row with
  pyarrow compute, NULL semantics included (``filtering.py``), whatever the API did with the parameters it was
  sent. So the engine may rely on the rows being filtered.
* ``supports_limit_pushdown`` (integer_constant): a LIMIT without ORDER BY stops the read once that many rows
  have passed the exact local filter; never earlier.
* ``supports_top_n_pushdown`` (SUPPORTS_ORDER_BY): ORDER BY ... LIMIT n; every split returns its true first n
  rows under Athena's ordering (``top_n``), asking the API for the order where the spec declares ``sort``.
* ``supports_complex_expression_pushdown`` (supported_function_expression_types): ``$like_pattern`` and the
  boolean ``$and``, ``$or``, ``$not``, applied exactly to every row (``expressions``), a LIKE sent to the API
  as a search term (always a superset) where the spec declares ``search``.
* ``SYSTEM.QUERY``: the passthrough table function (unless ``enable_query_passthrough=false``).

Not advertised: ``data_source_hints`` (the connector compares text by code point, as Athena does).
"""

from __future__ import annotations

from athena_connector import passthrough
from athena_connector.config import ConnectorConfig
from athena_connector.expressions import FUNCTIONS
from athena_connector.wire import OptimizationSubType
from athena_connector.wire.responses import (
    COMPLEX_EXPRESSION_PUSHDOWN,
    FILTER_PUSHDOWN,
    FILTER_SUBTYPES,
    INTEGER_CONSTANT,
    LIMIT_PUSHDOWN,
    SUPPORTED_FUNCTION_EXPRESSION_TYPES,
    SUPPORTS_ORDER_BY,
    TOP_N_PUSHDOWN,
)


def capabilities(config: ConnectorConfig) -> dict[str, list[OptimizationSubType]]:
    caps: dict[str, list[OptimizationSubType]] = {
        FILTER_PUSHDOWN: [OptimizationSubType(sub) for sub in FILTER_SUBTYPES],
        LIMIT_PUSHDOWN: [OptimizationSubType(INTEGER_CONSTANT)],
        TOP_N_PUSHDOWN: [OptimizationSubType(SUPPORTS_ORDER_BY)],
        COMPLEX_EXPRESSION_PUSHDOWN: [OptimizationSubType(SUPPORTED_FUNCTION_EXPRESSION_TYPES, FUNCTIONS)],
    }
    if config.enable_query_passthrough:
        caps[passthrough.SIGNATURE] = [
            OptimizationSubType("query_passthrough_schema", (passthrough.SCHEMA,)),
            OptimizationSubType("query_passthrough_name", (passthrough.NAME,)),
            OptimizationSubType("query_passthrough_arguments", (passthrough.ARGUMENT,)),
        ]
    return caps
