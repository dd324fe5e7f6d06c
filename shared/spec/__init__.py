"""Loading and validating the declarative description of a SaaS API."""

from shared.spec.loader import bundled_spec_names, load_spec, load_spec_text, resolve_hook
from shared.spec.model import ApiSpec, AuthSpec, EntitySpec, FieldSpec, PaginationSpec, ParamSpec, SourceSpec

__all__ = [
    "ApiSpec",
    "AuthSpec",
    "EntitySpec",
    "FieldSpec",
    "PaginationSpec",
    "ParamSpec",
    "SourceSpec",
    "bundled_spec_names",
    "load_spec",
    "load_spec_text",
    "resolve_hook",
]
