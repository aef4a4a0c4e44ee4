"""Persistence: SQLModel tables (models.py), database set-up (database.py) and load/save/lock (repository.py)."""
