"""phoihop engine: persisted BPMN execution on SpiffWorkflow 3.2. Knows nothing of HTTP."""
