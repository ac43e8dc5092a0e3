"""Configuration: strict schema, YAML with line numbers, credential references, config hash."""
