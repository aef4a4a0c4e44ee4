"""Definitions: what a deployment is, from the files a process owner uploads to compiled SpiffWorkflow specs.

Safe XML parsing, the catalog (structure checks, expressions compiled at deploy, loops SpiffWorkflow cannot run, the
models of human tasks), the Camunda 7 dialect (camunda/: with JUEL and generated forms), DMN tables (dmn/), JSON Schema
forms (forms/: the files, their validation and its messages), the "6 rõ" lint (lint/: one module per rule family), the
diff between versions, generated diagrams (layout/) and traceability to the Quy chế. Never touches the database.
"""
