"""Building blocks shared by many messages: the caller's identity and table names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from athena_connector.wire._fields import (
    expect_object,
    fail,
    get_opt_str,
    get_str,
    get_str_list,
    get_str_map,
    str_list_to_wire,
    str_map_to_wire,
    str_to_wire,
)

COMPAT_ID = "UNKNOWN"  # `id` and `principal` are always this literal (kept for compatibility)


@dataclass(frozen=True)
class FederatedIdentity:
    """Who ran the query. ``config_options`` is absent in older traffic and then empty here."""

    account: str | None
    arn: str | None
    tags: Mapping[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    config_options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TableName:
    schema_name: str
    table_name: str


def identity_from_wire(value: Any, path: str) -> FederatedIdentity | None:
    """V2+ keys (tags/groups) or the V1 Jackson keys (principalTags/iamGroups); ``null`` is allowed."""
    if value is None:
        return None
    obj = expect_object(value, path)
    tags_key = "tags" if "tags" in obj or "principalTags" not in obj else "principalTags"
    groups_key = "groups" if "groups" in obj or "iamGroups" not in obj else "iamGroups"
    return FederatedIdentity(
        account=get_opt_str(obj, "account", path),
        arn=get_opt_str(obj, "arn", path),
        tags=get_str_map(obj, tags_key, path, {}),
        groups=get_str_list(obj, groups_key, path, []),
        config_options=get_str_map(obj, "configOptions", path, {}),
    )


def identity_to_wire(identity: FederatedIdentity | None, path: str = "identity") -> dict[str, Any] | None:
    """Order id, principal, account, arn, tags, groups, configOptions (as the current SDK writes it)."""
    if identity is None:
        return None
    if not isinstance(identity, FederatedIdentity):
        fail(path, f"expected a FederatedIdentity, got {type(identity).__name__}")
    return {
        "id": COMPAT_ID,
        "principal": COMPAT_ID,
        "account": str_to_wire(identity.account, f"{path}.account", nullable=True),
        "arn": str_to_wire(identity.arn, f"{path}.arn", nullable=True),
        "tags": str_map_to_wire(identity.tags, f"{path}.tags"),
        "groups": str_list_to_wire(identity.groups, f"{path}.groups"),
        "configOptions": str_map_to_wire(identity.config_options, f"{path}.configOptions"),
    }


def table_name_from_wire(value: Any, path: str) -> TableName:
    obj = expect_object(value, path)
    return TableName(get_str(obj, "schemaName", path), get_str(obj, "tableName", path))


def table_name_to_wire(table: TableName, path: str = "tableName") -> dict[str, Any]:
    if not isinstance(table, TableName):
        fail(path, f"expected a TableName, got {type(table).__name__}")
    return {
        "schemaName": str_to_wire(table.schema_name, f"{path}.schemaName"),
        "tableName": str_to_wire(table.table_name, f"{path}.tableName"),
    }
