"""Execution: driving SpiffWorkflow 3.2.

The runtime (start, run to the next wait state, complete, timers, messages, send a task back to an earlier human task
(send_back), bounded by steps and time), what it
reports (outcomes) and which start event a new instance begins at (start_events); the script sandbox (sandbox), its
compile-time policy (sandbox_policy) and run-time limits (sandbox_limits); the functions scripts may call, the
serializer, the task index, the patches to SpiffWorkflow, external service tasks and the live-object cache. Never
touches the database.
"""
