"""Insight: what agents did with suggestions (feedback) and what it adds up to (analytics)."""
