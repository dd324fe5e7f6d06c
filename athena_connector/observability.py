"""Logging, metrics and tracing with aws-lambda-powertools, shared by the connector's modules.

* Logger: structured JSON; the handler appends ``query_id``, ``request_type``, ``catalog``, ``table`` (and
  ``split``) to every line of an invocation. In Lambda the same handler and formatter (and so the keys) are
  copied to the stdlib loggers of ``shared`` and ``athena_connector``, so their lines carry the query id too.
* Metrics (CloudWatch EMF, namespace ``$POWERTOOLS_METRICS_NAMESPACE`` or ``SaaSConnectors``): Requests,
  Errors, Throttles, Rows, RowsRead, Pages, ApiRequests, ApiRetries, ApiThrottled, ApiBytes, InlineBytes,
  SpilledBytes, SpilledBlocks, Splits, NulledValues, PushdownRejected.
* Tracer: X-Ray subsegments around each request type (no-op outside Lambda).
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "athena-connector"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "SaaSConnectors"

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)

_shared_configured = False


def configure_shared_loggers() -> None:
    """In Lambda, give the shared client's and this package's stdlib loggers this logger's handler and
    formatter, so their lines carry the query id too.

    Not done outside Lambda: it turns off propagation on those loggers, which would hide them from test
    harnesses and local tools that listen on the root logger.
    """
    global _shared_configured
    if _shared_configured or not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    import logging

    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    for name in ("shared", "athena_connector"):
        logging.getLogger(name)
    copy_config_to_registered_loggers(source_logger=logger, include={"shared", "athena_connector"})
    _shared_configured = True
