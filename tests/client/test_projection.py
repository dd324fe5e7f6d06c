"""Projection pushdown styles: joined with any separator, a repeated parameter, a bracketed array; declared per
entity and validated with the problem's location. (A real API that repeats the parameter, Datasette's ``_col``,
is read with projection in tests/client/test_datasette.py.)"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from shared.errors import SpecError
from shared.pushdown import plan_query
from shared.spec import load_spec_text

SPEC = """
version: 1
api: {{name: p, base_url: "http://127.0.0.1:1", auth: {{type: none}}}}
entities:
  - name: tickets
    path: /tickets
    records: data
    primary_key: [id]
    select_fields_param: {projection}
    fields:
      id: int64
      subject: string
      requester: {{type: string, path: requester.name}}
      status: string
"""

CASES = {
    "{param: fields}": "fields=id%2Crequester%2Csubject",
    "{param: fields, join: ' '}": "fields=id+requester+subject",
    "{param: fields, style: joined, join: ';'}": "fields=id%3Brequester%3Bsubject",
    "{param: col, style: repeated}": "col=id&col=requester&col=subject",
    "{param: fields, style: bracketed}": "fields%5B%5D=id&fields%5B%5D=requester&fields%5B%5D=subject",
    "fields": "fields=id%2Crequester%2Csubject",
}


@pytest.mark.parametrize("projection", list(CASES))
def test_each_style_writes_the_query_string_the_api_expects(projection: str) -> None:
    entity = load_spec_text(SPEC.format(projection=projection), source="p.yaml").entity("tickets")
    plan = plan_query(entity, (), ["subject", "requester"])
    assert urlencode(list(plan.params)) == CASES[projection]
    assert plan_query(entity, (), None).params == ()  # every field: no projection parameter at all


@pytest.mark.parametrize(
    ("projection", "message"),
    [
        ("{param: fields, style: comma}", "line 9: entities[0] (tickets).select_fields_param.style: unknown style"),
        ("{param: col, style: repeated, join: ','}", "'join' only applies to style 'joined'"),
        ("{param: 'fields[]', style: bracketed}", "without '[]'"),
        ("{param: fields, join: ''}", "non-empty separator"),
        ("{param: fields, format: raw}", "unknown key 'format'"),
    ],
)
def test_a_wrong_projection_is_named_where_it_is(projection: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        load_spec_text(SPEC.format(projection=projection), source="p.yaml")
    assert message in str(info.value), str(info.value)
