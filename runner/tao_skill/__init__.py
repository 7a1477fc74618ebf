"""tao-skill: a network-agnostic, schema-driven job runner for agent skill directories."""

__version__ = "0.1.0"
