"""Durable delivery of every message to partners (transactional outbox)."""
