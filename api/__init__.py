"""phoihop HTTP API (FastAPI): thin handlers over engine.commands and engine.reads.queries."""
