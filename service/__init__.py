"""FastAPI service: hybrid search and extractive answers with exact citations."""
