"""Reads: tasks, instances, definitions, versions and their diff, the audit trail, external tasks, case views, the
dashboard. One class per concern (``TaskReads``, ``InstanceReads``, ...), each over the database and the clock.

SQL over rows in one read-only transaction each; never a workflow load. Results are frozen dataclasses
(engine.reads.views and each module's own), built from the store's rows here.
"""
