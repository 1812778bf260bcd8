"""The domain: documents, versions, chunks, suggestions, rules, feedback; its storage and CLI."""
