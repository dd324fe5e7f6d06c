"""Spec loading: the bundled specs load, every problem is reported at once with its location, and the
shipped JSON Schema agrees with the loader on good and bad specs."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
import yaml

from shared.errors import SpecError
from shared.spec import bundled_spec_names, load_spec, load_spec_text
from shared.types import FieldType

SCHEMA = json.loads((resources.files("shared.specs") / "spec.schema.json").read_text())

GOOD = """
version: 1
api:
  name: acme
  base_url: https://api.acme.example/v2
  auth: {type: bearer, token: "{secret.token}"}
  pagination: {type: cursor, cursor_path: meta.next, cursor_param: after}
entities:
  - name: tickets
    path: /tickets
    records: items
    primary_key: [id]
    fields:
      id: {type: integer, nullable: false}
      amount: "decimal(12,2)"
      when: timestamp
      tags: list<string>
      who: {type: int32, path: assignee.id}
      extra: json
      where: {type: object, fields: {city: string, zip: string}}
    filters:
      when: {ge: {param: since}}
    incremental: {field: when}
"""


def test_every_bundled_spec_loads_and_matches_the_schema() -> None:
    names = bundled_spec_names()
    assert "demo" in names
    for name in names:
        spec = load_spec(name)
        assert spec.entities
        raw = yaml.safe_load((resources.files("shared.specs") / f"{name}.yaml").read_text())
        jsonschema.validate(raw, SCHEMA)


def test_types_parse_into_the_vocabulary() -> None:
    spec = load_spec_text(GOOD)
    e = spec.entity("tickets")
    assert e.field("id").type == FieldType("int64")
    assert str(e.field("amount").type) == "decimal(12,2)"
    assert str(e.field("tags").type) == "list<string>"
    assert e.field("who").path == "assignee.id"
    assert e.field("where").type.kind == "object"
    assert e.incremental_field == "when"
    jsonschema.validate(yaml.safe_load(GOOD), SCHEMA)


BAD = """
version: 1
api:
  name: acme
  base_url: ftp://nope
  auth: {type: oauth}
  retry: {max_attempts: 0}
  pagination: {type: cursor}
entities:
  - name: tickets
    path: tickets
    fields:
      id: {type: int128}
      n: {type: integer, nulable: true}
    primary_key: [nope]
    filters: {n: {gte: {param: x}}, ghost: {eq: {param: y}}}
    incremental: {field: ghost}
  - name: tickets
    path: /kids/{parent.id}
    fields: {id: integer}
    hooks: {transform: "evil:run"}
"""


def test_every_problem_is_reported_with_its_location() -> None:
    with pytest.raises(SpecError) as err:
        load_spec_text(BAD, source="bad.yaml")
    text = str(err.value)
    expected = [
        "line 5: api.base_url: must start with http:// or https://",
        "api.auth.type: unknown auth type 'oauth'",
        "api.retry.max_attempts: must be an integer >= 1",
        "api.pagination: missing required key 'cursor_param'",
        "entities[0] (tickets).path: must start with '/'",
        "entities[0] (tickets).fields.id.type: unknown type 'int128'",
        "entities[0] (tickets).fields.n.nulable: unknown key 'nulable' (did you mean 'nullable'?)",
        "primary key field 'nope' is not declared",
        "filters.n.gte: unknown operator 'gte'",
        "filters.ghost: filter on undeclared field 'ghost'",
        "incremental.field: field 'ghost' is not declared",
        "entities[1] (tickets).path: placeholder {parent.id} needs a 'parent' declaration",
        "hook module 'evil' is not declared in api.hooks.modules",
        "duplicate entity name 'tickets'",
    ]
    for fragment in expected:
        assert fragment in text, fragment
    assert all(p.source == "bad.yaml" for p in err.value.problems)
    assert len(err.value.problems) >= len(expected)
    assert "Traceback" not in text
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(BAD), SCHEMA)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("api: [", "not valid YAML"),
        ("- just a list", "must be a mapping"),
        ("api: {name: a, base_url: 'http://x'}\nentities: []", "entities: must be a non-empty list"),
        (
            "api: {name: a, base_url: 'http://x'}\nentities: [{name: a, path: /a, fields: {x: {type: decimal(12,2)}}}]",
            'quote the type: "decimal(12,2)"',
        ),
        (
            "api: {name: a, base_url: 'http://x'}\nentities: [{name: a, path: /a, fields: {x: json}, "
            "filters: {x: {eq: p}}}]",
            "cannot filter a json field",
        ),
        (
            "api: {name: a, base_url: 'http://x'}\nentities: [{name: a, path: /a, fields: {x: boolean}, "
            "filters: {x: {lt: p}}}]",
            "range operator 'lt' does not apply to a boolean field",
        ),
        (
            "api: {name: a, base_url: 'http://x'}\nentities: [{name: a, path: /a, fields: {t: timestamp}, "
            "splits: {by: time_window, field: t, start: '2020-01-01'}}]",
            "must be declared nullable: false",
        ),
        (
            "api: {name: a, base_url: 'http://x'}\nentities: [{name: a, path: /a, fields: {t: {type: timestamp, "
            "nullable: false}}, splits: {by: time_window, field: t, start: '2020-01-01'}}]",
            "needs server-side lower and upper bound filters",
        ),
        (
            "api: {name: a, base_url: 'http://x'}\nentities: [{name: a, path: /a, fields: {i: int64}, "
            "write: {update: {method: DELETE, path: '/a/{i}'}}}]",
            "must be POST, PUT or PATCH",
        ),
        (
            "api: {name: a, base_url: 'http://x'}\nentities: [{name: a, path: '/a/{parent.id}', fields: {i: int64},"
            " parent: {entity: b, fields: {i: id}}}]",
            "parent entity 'b' is not declared",
        ),
    ],
)
def test_specific_problems_have_specific_messages(text: str, fragment: str) -> None:
    with pytest.raises(SpecError) as err:
        load_spec_text(text, source="x.yaml")
    assert fragment in str(err.value)


def test_unknown_bundled_name_and_missing_file_are_clear(tmp_path: object) -> None:
    with pytest.raises(SpecError, match="no bundled spec named 'nosuch'"):
        load_spec("nosuch")
    with pytest.raises(SpecError, match="cannot read spec file"):
        load_spec("/definitely/not/here.yaml")


def test_environment_selects_the_spec_and_overrides_the_base_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "acme.yaml"
    path.write_text(GOOD)
    monkeypatch.setenv("SAAS_SPEC", str(path))
    monkeypatch.setenv("SAAS_BASE_URL", "http://127.0.0.1:9999/x/")
    spec = load_spec()
    assert spec.api.name == "acme"
    assert spec.api.base_url == "http://127.0.0.1:9999/x"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("0", "api.pagination.concurrency: must be an integer >= 1, got 0"),
        ("2.5", "api.pagination.concurrency: must be an integer >= 1, got 2.5"),
        ("true", "api.pagination.concurrency: must be an integer >= 1, got True"),
        ("17", "api.pagination.concurrency: must be at most 16 (requests in flight per read), got 17"),
    ],
)
def test_pagination_concurrency_is_checked_where_it_is_written(value: str, fragment: str) -> None:
    text = f"api: {{name: a, base_url: 'http://x', pagination: {{type: offset, concurrency: {value}}}}}\n"
    text += "entities: [{name: a, path: /a, fields: {x: int64}}]"
    with pytest.raises(SpecError) as err:
        load_spec_text(text, source="x.yaml")
    assert fragment in str(err.value)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(text), SCHEMA)


def test_pagination_concurrency_defaults_to_four_and_entities_may_set_their_own() -> None:
    text = "api: {name: a, base_url: 'http://x', pagination: {type: offset}}\n"
    text += "entities: [{name: a, path: /a, fields: {x: int64}}, {name: b, path: /b, fields: {x: int64}, "
    text += "pagination: {type: cursor, cursor_path: next, cursor_param: c, concurrency: 1}}]"
    spec = load_spec_text(text, source="x.yaml")
    assert spec.pagination_for(spec.entity("a")).concurrency == 4
    assert spec.pagination_for(spec.entity("b")).concurrency == 1
    jsonschema.validate(yaml.safe_load(text), SCHEMA)
