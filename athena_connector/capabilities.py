"""GetDataSourceCapabilities: advertise exactly the optimizations the connector enforces itself.

* ``supports_filter_pushdown`` (sorted_range_set, equatable_range_set, all_or_none_value_set,
  nullable_comparison): every ValueSet of ``constraints.summary`` is re-applied exactly to each row with
  pyarrow compute, NULL semantics included (``filtering.py``), whatever the API did with the parameters it was
  sent. So the engine may rely on the rows being filtered.
* ``supports_limit_pushdown`` (integer_constant): a LIMIT without ORDER BY and without expressions stops the
  read once that many rows have passed the exact local filter; never earlier.
* ``SYSTEM.QUERY``: the passthrough table function (unless ``enable_query_passthrough=false``).

Not advertised, on purpose: complex expression pushdown and top-N (ORDER BY ... LIMIT). Neither can be
pushed to a REST API, so they would only move work the engine already does exactly into the Lambda.
"""

from __future__ import annotations

from athena_connector import passthrough
from athena_connector.config import ConnectorConfig
from athena_connector.wire import OptimizationSubType
from athena_connector.wire.responses import (
    FILTER_PUSHDOWN,
    FILTER_SUBTYPES,
    INTEGER_CONSTANT,
    LIMIT_PUSHDOWN,
)


def capabilities(config: ConnectorConfig) -> dict[str, list[OptimizationSubType]]:
    caps: dict[str, list[OptimizationSubType]] = {
        FILTER_PUSHDOWN: [OptimizationSubType(sub) for sub in FILTER_SUBTYPES],
        LIMIT_PUSHDOWN: [OptimizationSubType(INTEGER_CONSTANT)],
    }
    if config.enable_query_passthrough:
        caps[passthrough.SIGNATURE] = [
            OptimizationSubType("query_passthrough_schema", (passthrough.SCHEMA,)),
            OptimizationSubType("query_passthrough_name", (passthrough.NAME,)),
            OptimizationSubType("query_passthrough_arguments", (passthrough.ARGUMENT,)),
        ]
    return caps
