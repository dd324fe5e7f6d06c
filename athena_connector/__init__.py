"""Athena Query Federation connector: a Lambda serving Athena metadata and record requests for the SaaS API."""
