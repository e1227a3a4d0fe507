"""Persistence: engine, unit of work and shared column types."""
