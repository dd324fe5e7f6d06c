"""The shared SaaS client: a declarative spec of a REST API and the HTTP client both connectors use.

Data flows one way: spec -> (predicates, fields, token) -> pages of records -> the connector.
Nothing here imports pyarrow or any connector, so the AppFlow Lambda stays small.
"""
