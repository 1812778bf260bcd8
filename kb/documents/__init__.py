"""Documents: files in, versions and chunks stored (ingestion, catalogue, jobs, sample KB)."""
