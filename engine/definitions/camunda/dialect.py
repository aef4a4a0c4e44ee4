"""Camunda 7 files (as Camunda Modeler saves them) rewritten, at deploy, into what SpiffWorkflow's Spiff parser runs.

One dialect runs: the Spiff parser (``engine.execution.external_task_spec.PhoihopBpmnParser``), whose specs the
serializer, the sandbox and the external tasks are built on. SpiffWorkflow's own ``CamundaParser`` builds more specs
from Camunda files, but it cannot be mixed with the Spiff serializer, drops
``camunda:assignee``/``candidateGroups``/``dueDate``, raises ``KeyError`` on a business rule task without
``camunda:decisionRef`` and runs JUEL as Python just the same. So :func:`translate_camunda` rewrites the parsed trees
before the catalog compiles them (after the XSD and reference checks, before every expression is compiled by the
sandbox checker):

- ``expressions``: JUEL (``${…}``, ``#{…}``, engine.definitions.camunda.juel) in sequence-flow and event conditions,
  loop expressions, timers, ``camunda:dueDate``, ``camunda:in sourceExpression`` and input/output parameters becomes
  the Python it means (``now()``/``dateTime()`` with ``plusDays(n)``… included); a cron ``timeCycle`` on the timer
  start event of a process is kept for the scheduler (engine.definitions.start_timers);
- ``user_tasks``: ``camunda:candidateGroups="${var}"`` becomes the property ``candidateGroupsVariable`` (the agency
  code(s) read from ``var`` when the task is created); an expression in ``camunda:assignee`` or
  ``camunda:candidateUsers`` is refused;
- ``business_rules``: ``camunda:decisionRef`` becomes ``spiffworkflow:calledDecisionId``; ``camunda:resultVariable``
  with ``camunda:mapDecisionResult`` (singleEntry, singleResult, collectEntries, resultList) becomes a post-script
  building that variable from the decision's outputs;
- ``data_mappings``: ``camunda:inputOutput`` parameters (a literal text, or one ``${…}``) become pre-/post-script
  assignments, and ``camunda:in``/``camunda:out`` (``source``, ``sourceExpression``, ``target``) of a call activity
  likewise;
- ``multi_instance``: ``camunda:collection`` (one variable, ``items`` or ``${items}``) with
  ``camunda:elementVariable`` on a parallel loop becomes ``bpmn:loopDataInputRef`` and ``bpmn:inputDataItem``;
- ``forms``: ``camunda:formData`` becomes a JSON Schema form (engine.definitions.forms) named by the element's
  ``camunda:formKey``, or ``generated:<element id>`` when it has none;
- ``camunda_forms``: a Camunda Form file (``*.form``, form-js) of the deployment named by ``camunda:formKey=
  "camunda-forms:app:NAME.form"`` becomes a JSON Schema form named by the key;
- ``links``: a link throw event and the link catch event of its name in the same process level become none events
  joined by a sequence flow (SpiffWorkflow 3.2 has no link events);
- refused, each a problem naming the element and the text (``rewrite``): JUEL outside the subset, FEEL (``=…``) and
  cron timers that cannot run (``expressions``); ``camunda:collection`` that is not one variable or is sequential
  (``multi_instance``); Camunda 8 (``zeebe:``) extensions, scripts not in Python (``scriptFormat``),
  execution and task listeners, Java implementations (``camunda:class``, ``delegateExpression``, ``expression``,
  ``type``) on anything but a service task (engine.execution.external_task_spec judges those) (``refused``).


Refused texts are replaced by a neutral one so the later checks do not report them twice (the deployment is refused
anyway). Attributes that are read but have no effect here are the lint's (engine.definitions.lint.camunda_attributes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phoihop.engine.definitions.camunda.business_rules import rewrite_business_rules
from phoihop.engine.definitions.camunda.camunda_forms import rewrite_camunda_forms
from phoihop.engine.definitions.camunda.data_mappings import rewrite_call_mappings, rewrite_input_output
from phoihop.engine.definitions.camunda.expressions import rewrite_expressions
from phoihop.engine.definitions.camunda.forms import generate_forms
from phoihop.engine.definitions.camunda.links import rewrite_links
from phoihop.engine.definitions.camunda.multi_instance import rewrite_collections
from phoihop.engine.definitions.camunda.refused import refuse_extensions, refuse_script_languages
from phoihop.engine.definitions.camunda.rewrite import Rewrite
from phoihop.engine.definitions.camunda.user_tasks import rewrite_user_tasks
from phoihop.engine.definitions.forms.files import Form
from phoihop.engine.definitions.structure import Document, local_name
from phoihop.engine.model import Problem

__all__ = ["Dialect", "translate_camunda"]


@dataclass
class Dialect:
    """What :func:`translate_camunda` found: problems, and the forms generated from ``camunda:formData``."""

    problems: list[Problem] = field(default_factory=list)
    forms: dict[str, Form] = field(default_factory=dict)


def _decision_elements(documents: Sequence[Document]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for document in documents:
        if document.kind == "dmn":
            for element in document.root.iter():
                if isinstance(element.tag, str) and local_name(element) == "decision" and element.get("id"):
                    found.setdefault(element.get("id"), element)
    return found


def translate_camunda(documents: Sequence[Document], camunda_forms: Mapping[str, bytes] | None = None) -> Dialect:
    """Rewrite the Camunda 7 constructs of every BPMN document in place; return the problems and generated forms.
    ``camunda_forms``: the deployment's Camunda Form files (``*.form``) by name."""
    decisions = _decision_elements(documents)
    result = Dialect()
    for document in documents:
        if document.kind != "bpmn":
            continue
        rewrite = Rewrite(document)
        rewrite_links(rewrite)
        refuse_extensions(rewrite)
        rewrite_expressions(rewrite)
        refuse_script_languages(rewrite)
        rewrite_user_tasks(rewrite)
        rewrite_business_rules(rewrite, decisions)
        rewrite_input_output(rewrite)
        rewrite_call_mappings(rewrite)
        rewrite_collections(rewrite)
        generate_forms(rewrite)
        rewrite_camunda_forms(rewrite, camunda_forms or {})
        result.problems += rewrite.problems
        result.forms.update(rewrite.forms)
    return result
