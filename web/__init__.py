"""The FastAPI application: JSON API, HTMX pages, templates and static files."""
