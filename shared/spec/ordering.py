"""Validation of the declarations behind top-N and LIKE pushdown: ``sort`` and ``search``. Kept apart from
``loader.py`` (which calls these) so each stays small.

``sort`` (entity level) says how to ask the API for an order::

    sort: {param: sort, join: ",", asc: "{field}", desc: "-{field}", nulls: largest, collation: binary,
           fields: [name, updated_at]}            # or {name: name, updated_at: updatedAt}: API names

``search`` (entity level, per field) names the field's text search parameters::

    search:
      name: [{param: name_prefix, match: prefix}, {param: q, match: contains, case_sensitive: false}]

A search parameter takes ``reserved`` and ``escape`` like a filter (``shared.pushdown.param_text``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.spec.model import FieldSpec, ParamSpec, SearchSpec, SortSpec

if TYPE_CHECKING:
    from shared.spec.loader import _Checker

SORT_KEYS = {"param", "fields", "asc", "desc", "join", "nulls", "collation"}
SEARCH_KEYS = {"param", "match", "case_sensitive", "min_length", "reserved", "escape"}
NULLS = ("largest", "smallest", "first", "last")
MATCHES = ("prefix", "contains", "word")


def _template(value: Any, path: tuple[Any, ...], c: _Checker, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or value.count("{field}") != 1:
        c.add(path, f"must be text with one {{field}} placeholder, such as '-{{field}}', got {value!r}")
        return default
    return value


def build_sort(raw: Any, path: tuple[Any, ...], c: _Checker, by_name: dict[str, FieldSpec]) -> SortSpec | None:
    """The entity's ``sort`` declaration, every problem reported at its location."""
    if raw is None:
        return None
    m = c.mapping(raw, path, SORT_KEYS, {"param", "fields"})
    if m is None:
        return None
    raw_fields = m.get("fields")
    if isinstance(raw_fields, list):
        raw_fields = {f: f for f in raw_fields}
    fields: dict[str, str] = {}
    if not isinstance(raw_fields, dict) or not raw_fields:
        c.add((*path, "fields"), "must list the sortable fields (or map them to the API's names for them)")
    else:
        for name, api_name in raw_fields.items():
            f = by_name.get(name) if isinstance(name, str) else None
            if f is None:
                c.add((*path, "fields", name), f"sortable field '{name}' is not declared in fields")
            elif not f.type.is_orderable:
                c.add((*path, "fields", name), f"a {f.type} field cannot be sorted")
            elif not isinstance(api_name, str) or not api_name:
                c.add((*path, "fields", name), "the API's name for the field must be text")
            else:
                fields[name] = api_name
    nulls = m.get("nulls", "largest")
    if nulls not in NULLS:
        c.add((*path, "nulls"), f"must be one of {', '.join(NULLS)}, got {nulls!r}")
    collation = m.get("collation", "binary")
    if not isinstance(collation, str):
        c.add((*path, "collation"), "must be text: 'binary' (by code point) or a name for another order")
        collation = "unknown"
    join = m.get("join")
    if join is not None and (not isinstance(join, str) or not join):
        c.add((*path, "join"), "must be a separator such as ','")
        join = None
    asc = _template(m.get("asc"), (*path, "asc"), c, "{field}")
    desc = _template(m.get("desc"), (*path, "desc"), c, "-{field}")
    if asc == desc:
        c.add((*path, "desc"), "ascending and descending must be asked for differently")
    return SortSpec(
        param=str(m.get("param")),
        fields=fields,
        asc=asc,
        desc=desc,
        join=join,
        nulls=nulls if nulls in NULLS else "largest",
        collation=collation,
    )


def build_search(
    raw: Any, path: tuple[Any, ...], c: _Checker, by_name: dict[str, FieldSpec]
) -> dict[str, tuple[SearchSpec, ...]]:
    """The entity's ``search`` declarations (field -> its search parameters)."""
    if raw is None:
        return {}
    from shared.spec.loader import _build_param  # the loader's own parameter checks (reserved, escape)

    m = c.mapping(raw, path)
    out: dict[str, tuple[SearchSpec, ...]] = {}
    for name, items in (m or {}).items():
        fpath = (*path, name)
        f = by_name.get(name) if isinstance(name, str) else None
        if f is None:
            c.add(fpath, f"search on undeclared field '{name}'")
            continue
        if f.type.kind != "string":
            c.add(fpath, f"search applies to string fields, not {f.type}")
            continue
        specs = []
        for i, item in enumerate(items if isinstance(items, list) else [items]):
            ipath = (*fpath, i) if isinstance(items, list) else fpath
            sm = c.mapping(item, ipath, SEARCH_KEYS, {"param", "match"})
            if sm is None:
                continue
            match = sm.get("match")
            if match not in MATCHES:
                c.add((*ipath, "match"), f"must be one of {', '.join(MATCHES)}, got {match!r}")
                continue
            min_length = c.number(sm.get("min_length"), (*ipath, "min_length"), 1, minimum=1, integer=True)
            param_raw = {k: sm[k] for k in ("param", "reserved", "escape") if k in sm}
            param = _build_param(param_raw, ipath, c)
            if param is None:
                continue
            specs.append(
                SearchSpec(
                    param=ParamSpec(param.param, "raw", reserved=param.reserved, escape=param.escape),
                    match=match,
                    case_sensitive=c.boolean(sm.get("case_sensitive"), (*ipath, "case_sensitive"), True),
                    min_length=int(min_length or 1),
                )
            )
        if specs:
            out[name] = tuple(specs)
    return out
