"""Datasets: catalogue, authorizations and permits."""
