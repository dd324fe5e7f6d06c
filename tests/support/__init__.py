"""Test helpers: a configurable fake SaaS server on loopback and a fake clock."""
