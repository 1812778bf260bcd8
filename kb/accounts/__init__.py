"""Accounts: users and their sessions, API keys, embed tokens, who may do what, the audit log."""
