"""The officers' web app: server-rendered pages (Jinja2 + htmx) on the same engine services and queries as the API.

Kept free of imports: ``dev.py`` (standard library only) reads ``web.demo_users``."""
