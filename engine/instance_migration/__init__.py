"""Instance migration: moving running instances from one version of a process to another, with a dry run that
says, instance by instance, what would move and why not. (Schema upgrades are Alembic's: engine.store.schema.)"""
