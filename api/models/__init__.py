"""Pydantic models of the HTTP API: Create / Update / Public per resource."""
