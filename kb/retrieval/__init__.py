"""Retrieval: chunks to index generations, queries to ranked hits (indexing, search, vocabulary,
confidence, evaluation)."""
