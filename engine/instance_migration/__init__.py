"""Instance migration: moving running instances from one version of a process to another, with a dry run that
says, instance by instance, what would move and why not. (Schema upgrades are Alembic's: engine.store.schema.)

commands (the dry run and the migration), plan (the versions and the plan checked against them), move (an instance
examined, moved in memory, saved), description (what the dry run says of each instance), tree (the task tree moved
onto the target's specs), variables (what the target reads that the instance lacks)."""
