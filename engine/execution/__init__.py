"""Execution: driving SpiffWorkflow 3.2.

The runtime (start, run to the next wait state, complete, timers, messages, bounded by steps and time), the
script sandbox and its limits, the functions scripts may call, the serializer, the task index, the patches to
SpiffWorkflow, external service tasks and the live-object cache. Never touches the database.
"""
