"""phoihop HTTP API (FastAPI): thin handlers over engine.service and engine.queries."""
