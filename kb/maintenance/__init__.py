"""Consistency of a data directory: ``kb check`` and ``kb check --repair``."""
