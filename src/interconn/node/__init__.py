"""This node's identity, node info and health endpoints."""
