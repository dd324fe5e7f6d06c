"""URL map: every route with the handler name, its entity (for faults/stats) and applicable faults."""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.routing import Map, Rule

from .faults import GENERIC_KINDS

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Route:
    handler: str  # method name on Api ("api"/"oauth" areas) or Admin ("admin") or Api ("public")
    entity: str  # entity name for fault matching and stats
    area: str  # "api" (authenticated), "oauth", "admin", "public"
    faults: frozenset[str] = frozenset()


def _api(handler: str, entity: str, *extra: str, records: bool = True) -> Route:
    kinds = GENERIC_KINDS | ({"drift"} if records else set()) | set(extra)
    return Route(handler, entity, "api", frozenset(kinds))


ROUTES: dict[str, Route] = {
    "health": Route("health", "health", "public"),
    "token": Route("token", "token", "oauth", GENERIC_KINDS),
    "me": _api("me", "me", records=False),
    "list_accounts": _api("list_accounts", "accounts", "mutate_between_pages", "delete_between_pages"),
    "get_account": _api("get_account", "accounts"),
    "list_contacts": _api("list_contacts", "contacts", "mutate_between_pages", "delete_between_pages", "repeat_token"),
    "get_contact": _api("get_contact", "contacts"),
    "count_contacts": _api("count_contacts", "contacts", records=False),
    "create_contact": _api("create_contact", "contacts", records=False),
    "patch_contact": _api("patch_contact", "contacts", records=False),
    "put_contact": _api("put_contact", "contacts", records=False),
    "delete_contact": _api("delete_contact", "contacts", records=False),
    "list_deals": _api(
        "list_deals", "deals", "mutate_between_pages", "delete_between_pages", "foreign_next", "repeat_token"
    ),
    "get_deal": _api("get_deal", "deals"),
    "contact_activities": _api("contact_activities", "activities", "foreign_next", "repeat_token"),
    "list_activities": _api("list_activities", "activities", "foreign_next", "repeat_token"),
    "admin_mutate": Route("mutate", "admin", "admin"),
    "admin_faults": Route("faults", "admin", "admin"),
    "admin_stats": Route("stats", "admin", "admin"),
    "admin_clock": Route("clock", "admin", "admin"),
    "admin_tokens_expire": Route("expire_tokens", "admin", "admin"),
    "admin_config": Route("config", "admin", "admin"),
    "admin_dump": Route("dump", "admin", "admin"),
    "admin_reset": Route("reset", "admin", "admin"),
}


def build_map() -> Map:
    p = API_PREFIX
    rules = [
        Rule("/health", endpoint="health", methods=["GET"]),
        Rule("/oauth/token", endpoint="token", methods=["POST"]),
        Rule(f"{p}/me", endpoint="me", methods=["GET"]),
        Rule(f"{p}/accounts", endpoint="list_accounts", methods=["GET"]),
        Rule(f"{p}/accounts/<int(min=1):record_id>", endpoint="get_account", methods=["GET"]),
        Rule(f"{p}/contacts", endpoint="list_contacts", methods=["GET"]),
        Rule(f"{p}/contacts", endpoint="create_contact", methods=["POST"]),
        Rule(f"{p}/contacts/count", endpoint="count_contacts", methods=["GET"]),
        Rule(f"{p}/contacts/<int(min=1):record_id>", endpoint="get_contact", methods=["GET"]),
        Rule(f"{p}/contacts/<int(min=1):record_id>", endpoint="patch_contact", methods=["PATCH"]),
        Rule(f"{p}/contacts/<int(min=1):record_id>", endpoint="put_contact", methods=["PUT"]),
        Rule(f"{p}/contacts/<int(min=1):record_id>", endpoint="delete_contact", methods=["DELETE"]),
        Rule(f"{p}/contacts/<int(min=1):record_id>/activities", endpoint="contact_activities", methods=["GET"]),
        Rule(f"{p}/activities", endpoint="list_activities", methods=["GET"]),
        Rule(f"{p}/deals", endpoint="list_deals", methods=["GET"]),
        Rule(f"{p}/deals/<int(min=1):record_id>", endpoint="get_deal", methods=["GET"]),
        Rule("/_admin/mutate", endpoint="admin_mutate", methods=["POST"]),
        Rule("/_admin/faults", endpoint="admin_faults", methods=["GET", "POST", "DELETE"]),
        Rule("/_admin/stats", endpoint="admin_stats", methods=["GET", "DELETE"]),
        Rule("/_admin/clock", endpoint="admin_clock", methods=["GET", "POST"]),
        Rule("/_admin/tokens/expire", endpoint="admin_tokens_expire", methods=["POST"]),
        Rule("/_admin/config", endpoint="admin_config", methods=["GET", "POST"]),
        Rule("/_admin/dump/<entity>", endpoint="admin_dump", methods=["GET"]),
        Rule("/_admin/reset", endpoint="admin_reset", methods=["POST"]),
    ]
    return Map(rules, merge_slashes=False, redirect_defaults=False)
