"""Camunda 7 files as Camunda Modeler saves them, rewritten at deploy (dialect, one module per construct: expressions,
user_tasks, business_rules, data_mappings, forms, refused; over rewrite and edits), JUEL (juel), and the ``camunda:``
attributes and properties read off an element (attributes)."""
