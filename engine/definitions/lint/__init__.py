"""The "6 rõ" lint (Điều 5.5 of the Quy chế issued with Decision 5921/QĐ-UBND), run on a compiled deployment.

Compiling (engine.definitions.catalog) already refuses what cannot run: invalid XML, schema errors, expressions and
timers that do not compile. The lint adds what makes a process *accountable*, one module per rule family:

- ``human_tasks``: for every human task, someone named to act on it (``no-one-can-act``: only admins and leads can),
  an agency lane or candidates named by data (rõ trách nhiệm: ``lane-not-agency``, ``unknown-group``),
  documentation (rõ việc: ``no-documentation``), a due time (rõ thời gian: ``no-due-date``) that parses
  (``due-date-invalid``, always an error) and a form (rõ sản phẩm: ``no-form``);
- ``dmn_coverage``: for every single-hit DMN decision table without a catch-all rule, input values of a finite domain
  that no rule matches (``dmn-no-default``);
- ``dmn_tables``: for every DMN file, FEEL that runs differently as Python (``dmn-feel``), hit policies SpiffWorkflow
  runs differently (``dmn-hit-policy``) and decision requirement graphs (``dmn-required-decision``);
- ``camunda_attributes``: for every BPMN file, Camunda 7 attributes that have no effect here (``camunda-ignored``);
- ``calls``: call activities that call their own process back (``call-recursive``);
- ``graph`` (over ``scopes``, with ``branches``): the shape of each process and subprocess: elements no start
  reaches (``unreachable``), paths that stop or loop without an end (``dead-end``; ``implicit-end``, a warning),
  flows that name no step (``flow-into-nothing``), a gateway whose only way out is conditional without a default
  (``gateway-one-way``, a warning) and parallel branches that can end before the join waiting for them
  (``end-with-open-branches``);
- ``lengths``: names longer than the store's columns (``name-too-long``, always an error; the limits are handed in
  by the deploy and validate commands and ``phoihop lint``);
- ``deployment``: the entry points, a compiled deployment (``lint_deployment``), files that may not compile
  (``lint_files``) and folders (``lint_path``);
- ``findings``: a finding built, settled (strict, sorted), shown as a problem or a line, and refused.

Gaps are warnings by default, so a plain BPMN file without forms still deploys; ``strict=True`` makes them errors.
:func:`~engine.definitions.lint.findings.refuse_errors` raises :class:`~engine.errors.InvalidDefinition` with the
errors as problems (the catalog's problem shape plus ``code`` and ``severity``).
"""
