"""phoihop HTTP API (FastAPI): thin handlers over engine.commands and engine.reads; api.schemas map their typed
results."""
