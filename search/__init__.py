"""Turn chunks into indexes and queries into ranked hits. No SQL."""
