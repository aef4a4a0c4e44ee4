"""``end-with-open-branches``: a branch forked by a parallel gateway ends (at an end event, or a node without a way
out) before the parallel join that waits for it. SpiffWorkflow's parallel join waits for a token on every incoming
flow, so the other branches stop at the join and the process never finishes: an error.

Branches that each end on their own are not a finding: the instance completes only when its last branch ends (the
process end waits for every token). The rule reads the simple structural case and is conservative: a split whose
branches meet another parallel split, an inclusive or complex gateway, a terminate end, a non-interrupting boundary
event or the split itself again is not judged, nor is a join fed from outside the split's branches. The walk is
bounded by a multiple of the scope's size, so a huge file costs linear time (and past the bound, no finding).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from phoihop.engine.definitions.lint.findings import finding_at
from phoihop.engine.definitions.lint.scopes import Scope, is_terminate
from phoihop.engine.definitions.structure import local_name
from phoihop.engine.model import Finding

__all__ = ["open_branch_findings"]

_UNJUDGED = frozenset({"inclusiveGateway", "complexGateway"})
_BUDGET_PER_NODE = 8


class _Unjudged(Exception):
    """The branch meets what the structural rule does not read."""


@dataclass
class _Branch:
    visited: set[str] = field(default_factory=set)
    joins: set[str] = field(default_factory=set)
    ends: list[str] = field(default_factory=list)


def _is_join(scope: Scope, node_id: str) -> bool:
    return scope.incoming[node_id] >= 2 and len(scope.outgoing[node_id]) <= 1


def _walk(scope: Scope, split: str, first: str, budget: list[int]) -> _Branch:
    branch = _Branch(visited={first})
    queue = deque([first])
    while queue:
        node_id = queue.popleft()
        budget[0] -= 1
        if budget[0] < 0:
            raise _Unjudged
        node = scope.nodes.get(node_id)
        if node is None:  # a link's key
            targets = scope.edges.get(node_id, [])
        else:
            kind = local_name(node)
            if node_id == split or kind in _UNJUDGED or is_terminate(node):
                raise _Unjudged
            if kind == "boundaryEvent" and node.get("cancelActivity") == "false":
                raise _Unjudged
            if kind == "parallelGateway":
                if not _is_join(scope, node_id):
                    raise _Unjudged
                branch.joins.add(node_id)
                continue
            targets = scope.edges[node_id]
            if not targets:
                branch.ends.append(node_id)
        for target in targets:
            if target not in branch.visited:
                branch.visited.add(target)
                queue.append(target)
    return branch


def open_branch_findings(scope: Scope, reached: set[str]) -> Iterator[Finding]:
    budget = [_BUDGET_PER_NODE * len(scope.nodes) + 64]
    sources: dict[str, list[str]] = {}  # join → the nodes its flows come from
    for source, flows in scope.outgoing.items():
        for flow in flows:
            sources.setdefault(flow.get("targetRef"), []).append(source)
    for split_id, split in scope.nodes.items():
        if local_name(split) != "parallelGateway" or split_id not in reached or len(scope.outgoing[split_id]) < 2:
            continue
        try:
            branches = [_walk(scope, split_id, flow.get("targetRef"), budget) for flow in scope.outgoing[split_id]]
        except _Unjudged:
            if budget[0] < 0:
                return
            continue
        joins = set().union(*(branch.joins for branch in branches))
        inside = set().union(*(branch.visited for branch in branches)) - joins
        if sum(len(branch.visited - joins) for branch in branches) != len(inside):
            continue  # branches that merge before a join: how many tokens reach it is not read here
        for join in sorted(joins):
            if not set(sources.get(join, [])) <= inside:
                continue  # fed from outside the split as well
            tokens = sum(join in branch.joins for branch in branches)
            short = scope.incoming[join] > tokens  # the join cannot fire even when every branch reaches it
            for branch in branches:
                if not branch.ends or (join not in branch.joins and not (short and not branch.joins)):
                    continue
                yield from _premature(scope, split_id, join, branch.ends)
            break  # one join per split is enough


def _premature(scope: Scope, split_id: str, join: str, ends: list[str]) -> Iterator[Finding]:
    for end_id in ends:
        end = scope.nodes[end_id]
        yield finding_at(
            "end-with-open-branches",
            "error",
            scope.file,
            end,
            end_id,
            f"{local_name(end)} {end_id} ends a branch that parallel gateway {split_id} forks before it reaches the "
            f"parallel join {join}: the join waits for this branch forever and the process cannot finish",
            f"{end_id} ({local_name(end)}) kết thúc một nhánh do cổng song song {split_id} tách ra trước khi tới cổng "
            f"hợp song song {join}: cổng hợp chờ nhánh này mãi, quy trình không thể kết thúc",
        )
