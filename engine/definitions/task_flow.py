"""The camunda:properties of a user task that say how a lead controls its work (engine/commands/task_flow.py):

- ``approval``: ``lead``: an officer's complete is a draft that a lead of the agency approves or sends back;
- ``onReturn``: the due time of the task when a send-back reopens it: ``restart`` (the default: its ``dueDate``
  counted again from the reopening) or ``continue`` (the time it had left when it was completed).

The lint (engine/definitions/lint/human_tasks.py) refuses other values."""

from __future__ import annotations

__all__ = ["APPROVAL_PROPERTY", "APPROVAL_VALUES", "ON_RETURN_PROPERTY", "ON_RETURN_VALUES"]

APPROVAL_PROPERTY = "approval"
APPROVAL_VALUES = ("lead",)
ON_RETURN_PROPERTY = "onReturn"
ON_RETURN_VALUES = ("restart", "continue")
