"""Acting through a delegation (engine.model): the delegate holds the delegator's agencies and roles besides their
own, an act their own rights allow is not "through" the delegation, and the signing follows Nghị định 30/2020/NĐ-CP
Điều 13 ("ký thay" for a lead, "thừa ủy quyền" otherwise)."""

from __future__ import annotations

from typing import Any

import pytest

from phoihop.engine.errors import RoleRequired
from phoihop.engine.model import KY_THAY, THUA_UY_QUYEN, Actor, Delegated

CUONG = Delegated(1, "cuong", "Phạm Quốc Cường", frozenset({"skhcn"}), frozenset({"officer", "lead"}))
BINH = Delegated(2, "binh", "Lê Văn Bình", frozenset({"skhcn"}), frozenset({"officer"}))


def task(**fields: Any) -> dict[str, Any]:
    return {"id": "t", "candidate_groups": ["skhcn"], "candidate_users": [], "assignee": None, **fields}


def test_a_delegate_holds_the_delegators_agencies_and_roles_besides_their_own() -> None:
    dung = Actor.of("dung", name="Trần Thị Dung", groups=("stp",), roles=("officer",))
    acting = dung.with_delegations([CUONG])
    assert (acting.groups, acting.roles) == ({"stp", "skhcn"}, {"officer", "lead"})
    assert acting.own() == dung and acting.user_ids == {"dung", "cuong"}
    assert acting.with_delegations([]) == dung  # a delegation that ended: the person alone again

    lead_only = task(required_role="lead")
    with pytest.raises(RoleRequired):
        dung.with_delegations([BINH]).require_candidate(lead_only)  # an officer's delegation gives no lead role
    acting.require_candidate(lead_only)
    assert acting.marks_for_task(lead_only) == {
        "on_behalf_of": "cuong",
        "on_behalf_of_name": "Phạm Quốc Cường",
        "signing": KY_THAY,
    }
    assert acting.is_candidate(task(candidate_groups=[], assignee="cuong"))  # a task assigned to the delegator


def test_own_rights_first_and_the_signing_rule() -> None:
    an = Actor.of("an", groups=("skhcn",), roles=("officer",)).with_delegations([BINH, CUONG])
    assert an.delegation_for_task(task()) is None  # his own agency's task: no delegation needed
    assert an.delegation_for_task(task(required_role="lead")) == CUONG  # the one that gives the lead role
    assert an.delegation_for_task(task(candidate_groups=["stp"])) is None  # no delegation reaches Sở Tư pháp
    assert (CUONG.signing, BINH.signing) == (KY_THAY, THUA_UY_QUYEN)
    assert Actor.of("cuong").with_delegations([CUONG]).delegations == ()  # nobody acts through themselves
