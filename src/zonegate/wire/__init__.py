"""Wire formats spoken by clients and upstreams, as pydantic models."""
