"""Commands: the use cases that change state, each one transaction.

``executor`` runs every command that moves an instance: lock the instance, load its workflow (free from the
live-object cache when the stored version has not moved), run one action, save tasks, timers, subscriptions, records
and audit, publish the messages the instance threw, commit. The handlers of instances (deployments and versions,
instances, tasks, send-back and drafts awaiting a lead's approval (task_flow), messages, external tasks, timers) are
small classes built around one executor. The calendar, API keys and decision tables move no instance: their handlers
open the same unit of work (store/unit_of_work.py) directly, and keep beside their commands the lookups that belong
to them (working days, signing in with a key, evaluating a table).
"""
