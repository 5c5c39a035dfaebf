"""Pydantic models for every request and response, JSON-compatible with Prefect 3.9.1."""
