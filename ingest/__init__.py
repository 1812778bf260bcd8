"""Turn files (bytes) into clean, structured chunks. Pure functions; no database."""
