"""A DMN cell as SpiffWorkflow 3.2.0 reads it: Python, built around the input expression.

SpiffWorkflow evaluates a DMN input entry as Python: ``-`` or an empty cell matches anything; a cell holding ``?``
becomes an expression of the input value (``0 <= ? <= 500``, the ``?`` bound to :data:`PLACEHOLDER`); a cell that only
parses after a left operand is glued to the input expression (``> 500`` → ``kinh_phi> 500``); any other cell is compared
for equality (``(kinh_phi) == (500)``). Output entries and input expressions are plain Python expressions.

:func:`dmn_entry_source` builds that Python, :func:`parse_entry` and :func:`parse_expression` parse a cell of each
kind, :func:`expression_names` lists the variables a cell reads.
"""

from __future__ import annotations

import ast
import re

from phoihop.engine.execution.sandbox_limits import HOOKS
from phoihop.engine.execution.script_functions import FUNCTIONS

__all__ = [
    "CALLABLE_NAMES",
    "PLACEHOLDER",
    "QUESTION",
    "dmn_entry_source",
    "expression_names",
    "parse_entry",
    "parse_expression",
]

PLACEHOLDER = "dmninputexpr"  # what SpiffWorkflow binds the input value to for a cell with "?"
# SpiffWorkflow's DMNEngine replaces a "?" outside quotes by the input value (same pattern).
QUESTION = re.compile(r"""(\?)(?=(?:[^'"]|['"][^'"]*['"])*$)""")
CALLABLE_NAMES = frozenset(HOOKS["__builtins__"]) | frozenset(FUNCTIONS)


def dmn_entry_source(input_expression: str, entry: str) -> tuple[str, bool]:
    """The Python SpiffWorkflow 3.2.0's DMNEngine.evaluate builds from an input entry, and whether it glued the entry
    onto the input expression (``> 500`` → ``kinh_phi> 500``). SyntaxError when the engine could not build it."""
    if QUESTION.search(entry):
        return QUESTION.sub(PLACEHOLDER, entry), False
    try:
        ast.parse(entry)
    except SyntaxError:
        ast.parse(f"v {entry}")  # a comparison fragment such as "> 500"; SyntaxError propagates
        return input_expression + entry, True
    return f"({input_expression}) == ({entry})", False


def parse_entry(text: str) -> tuple[ast.expr, bool] | None:
    """The expression of an input entry as SpiffWorkflow builds it (``?`` → the placeholder) and whether it is a
    fragment to be glued after the input expression (``> 5``); None when it is no Python at all."""
    source = QUESTION.sub(PLACEHOLDER, text)
    try:
        return ast.parse(source.strip(), mode="eval").body, False
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    try:
        glued = ast.parse(f"v {source.strip()}", mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return glued, True


def parse_expression(text: str) -> tuple[ast.expr, bool] | None:
    """An output entry or input expression: plain Python, never glued; None when it does not parse."""
    try:
        return ast.parse(text.strip(), mode="eval").body, False
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def expression_names(text: str | None) -> set[str]:
    """Variables an expression reads (free names that are not sandbox functions); empty for what does not parse."""
    if not text or not text.strip():
        return set()
    try:
        tree = ast.parse(QUESTION.sub(PLACEHOLDER, text).strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    loaded: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return loaded - bound - CALLABLE_NAMES - {PLACEHOLDER}
