"""Definitions: what a deployment is, from the files a process owner uploads to compiled SpiffWorkflow specs.

Safe XML parsing, the catalog (structure checks, expressions compiled at deploy, loops SpiffWorkflow cannot run),
the Camunda 7 dialect (with JUEL and generated forms), DMN tables, JSON Schema forms, the "6 rõ" lint, the diff
between versions, generated diagrams and traceability to the Quy chế. Never touches the database.
"""
