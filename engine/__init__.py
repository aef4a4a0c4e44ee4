"""The phoihop workflow engine: persisted BPMN execution on SpiffWorkflow 3.2. Knows nothing of HTTP.

Wings, each a sub-package whose docstring says what it owns (lower ones never import higher ones; the
import-linter contracts in pyproject.toml hold this):

- ``container``: builds the engine from its collaborators, in one place.
- ``instance_migration``: moving running instances between versions of a process.
- ``commands``: the command executor (lock → load → run → save → publish, one transaction) and its handlers.
- ``reads``: the inbox, instances, history, versions, dashboard: SQL over rows, never a workflow load.
- ``definitions``: what a deployment is: safe XML, catalog, Camunda dialect, JUEL, DMN, forms, lint, diff, layout.
- ``execution``: driving SpiffWorkflow: runtime, sandbox, serializer, task index, patches, live-object cache.
- ``time``: business calendar, working days, due dates, deadline states.
- ``store``: tables, statements and the transaction boundary; imports nothing else of the engine.

Loose modules, imported by every wing and importing none: ``errors`` (the one error root), ``model`` (the shared
value types: SourceFile, Problem, Finding, Actor), ``clock``, ``ids``, ``agencies``, ``variables``, ``dossier``.
"""
