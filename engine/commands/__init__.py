"""Commands: every use case that changes state, each one transaction.

``executor`` runs a command: lock the instance, load its workflow (free from the live-object cache when the stored
version has not moved), run one action, save tasks, timers, subscriptions, records and audit, publish the messages
the instance threw, commit. The handlers (deployments and versions, instances, tasks, messages, external tasks,
timers, calendar, API keys, decisions) are small classes built around one executor.
"""
