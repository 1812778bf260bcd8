"""The library: scripted replies and escalation rules, their YAML/CSV formats and their storage."""
