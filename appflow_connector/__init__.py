"""AppFlow custom connector over the shared SaaS client.

The Lambda entry point is :func:`appflow_connector.handler.lambda_handler`. Everything the spec says
(entities, fields, filters, auth, writes) is turned into the AppFlow custom-connector protocol of the
pinned ``custom-connector-sdk``; nothing here imports pyarrow.
"""

__version__ = "0.1.0"
