"""One BPMN document being rewritten by the Camunda dialect (engine.definitions.camunda.dialect): its tree, the
problems its refusals make (each naming the element and the text, with a code) and the forms generated from it."""

from __future__ import annotations

from typing import Any

from phoihop.engine.definitions.forms.files import Form
from phoihop.engine.definitions.structure import Document, problem
from phoihop.engine.model import Problem

__all__ = ["CODE_CAMUNDA", "CODE_FEEL", "CODE_JUEL", "Rewrite"]

CODE_JUEL = "juel-unsupported"
CODE_FEEL = "feel-unsupported"
CODE_CAMUNDA = "camunda-unsupported"


class Rewrite:
    """A BPMN document rewritten in place; what is refused is recorded as a problem, never raised."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.problems: list[Problem] = []
        self.forms: dict[str, Form] = {}  # generated from camunda:formData, by form name

    def refuse(self, element: Any, en: str, vi: str, code: str = CODE_CAMUNDA, line: int | None = None) -> None:
        self.problems.append(problem(self.document.name, en, vi, element=element, line=line, code=code))
