"""Packaging of the two Lambda functions (used by ``sam build`` through ``deploy/functions/*/Makefile``)."""
