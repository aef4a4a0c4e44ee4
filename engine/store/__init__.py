"""Store: SQLModel tables (models), the database and its transaction boundary (database, unit_of_work), schema
upgrades through Alembic (schema), and the statements of each concern. Never commits on its own; imports nothing
else of the engine."""
