"""The dashboard's routes, one module per page or concern; each exposes ``router``."""
