"""Thin query and mutation functions, one module per domain."""
