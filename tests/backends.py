"""The databases every SQL-touching service test runs on; PostgreSQL's tests carry its marker.

Imported by name (``from backends import BACKENDS``), like ``library_files``: a module named
``conftest`` would be ambiguous, there is more than one."""

from __future__ import annotations

import pytest

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
