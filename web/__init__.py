"""The officers' web app: server-rendered pages (Jinja2 + htmx) on the same engine handlers and reads as the API.

Kept free of imports: ``dev.py`` (standard library only) reads ``phoihop.web.demo_users``."""
