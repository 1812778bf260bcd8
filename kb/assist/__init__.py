"""Assist: a conversation becomes a suggestion (query, search, confidence, replies, escalation)."""
