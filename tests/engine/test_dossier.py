"""Dossier codes (Thông tư 01/2018/TT-VPCP Điều 19) and the portal's status vocabulary: the format, the per-day
sequence per agency code, allocation at start in the start's transaction (idempotent replays take no number), and
distinct consecutive numbers under concurrent starts from several engines on one database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import text

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer, build_engine
from phoihop.engine.dossier import (
    DOSSIER_STATUSES,
    check_agency_code,
    dossier_view,
    format_dossier_code,
    receipt_day,
    status_code,
)
from phoihop.engine.model import SourceFile
from phoihop.engine.store.dossiers import next_dossier_number
from tests.conftest import INTEGRATOR, OWNER
from tests.engine.helpers import audit_kinds, history, instance, run_threads

FIXTURES = Path(__file__).parent.parent / "fixtures" / "deadlines"
AGENCY = "000.00.25.H26"
APPOINTMENT = {"appointment": "2026-01-09T17:00:00+07:00"}


def deploy_fixture(container: EngineContainer, name: str) -> None:
    container.deployments.deploy(OWNER, [SourceFile(name, (FIXTURES / name).read_bytes())])


def stored_codes(container: EngineContainer) -> list[str]:
    with container.db.transaction(write=False) as conn:
        rows = conn.execute(text("SELECT dossier_code FROM process_instance WHERE dossier_code IS NOT NULL"))
        return sorted(r[0] for r in rows)


def take(container: EngineContainer, prefix: str, day: str) -> int:
    with container.db.transaction() as conn:
        return next_dossier_number(conn, prefix, day)


# --- format and vocabulary (pure) -------------------------------------------------------------------------------------
def test_code_format_pads_the_number_to_four_digits_and_grows_beyond() -> None:
    assert format_dossier_code(AGENCY, date(2026, 2, 12), 1) == "000.00.25.H26-260212-0001"
    assert format_dossier_code(AGENCY, date(2021, 2, 12), 9090) == "000.00.25.H26-210212-9090"
    assert format_dossier_code("G22", date(2026, 12, 31), 9999) == "G22-261231-9999"
    assert format_dossier_code("G22", date(2026, 12, 31), 10000) == "G22-261231-10000"
    assert format_dossier_code("G22", date(2030, 1, 2), 123456) == "G22-300102-123456"


@pytest.mark.parametrize("agency", ["", " 000.00.25.H26", "000 00", "000-00", "Sở KH&CN", "x" * 61, ".H26"])
def test_bad_agency_codes_are_refused(agency: str) -> None:
    with pytest.raises(ValueError, match="agency code"):
        format_dossier_code(agency, date(2026, 1, 5), 1)
    with pytest.raises(ValueError):
        check_agency_code(agency)


def test_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        format_dossier_code(AGENCY, date(2026, 1, 5), 0)


def test_receipt_day_is_the_hanoi_calendar_day() -> None:
    assert receipt_day(datetime(2026, 1, 5, 16, 59, tzinfo=UTC)) == date(2026, 1, 5)  # 23:59 in Hanoi
    assert receipt_day(datetime(2026, 1, 5, 17, 0, tzinfo=UTC)) == date(2026, 1, 6)  # 00:00 in Hanoi
    with pytest.raises(ValueError):
        receipt_day(datetime(2026, 1, 5, 17, 0))


def test_status_vocabulary_of_the_national_portal() -> None:
    assert sorted(DOSSIER_STATUSES) == list(range(1, 11))
    assert DOSSIER_STATUSES[1].name_vi == "Mới đăng ký"
    assert DOSSIER_STATUSES[4].name_vi == "Đang xử lý"
    assert DOSSIER_STATUSES[5].name_vi == "Yêu cầu bổ sung giấy tờ"
    assert DOSSIER_STATUSES[10].name_vi == "Đã trả kết quả"
    assert DOSSIER_STATUSES[10].name_en == "Result returned"
    assert all(s.name_vi and s.name_en for s in DOSSIER_STATUSES.values())


def test_dossier_view_names_known_statuses_and_keeps_unknown_ones_unnamed() -> None:
    assert dossier_view(None, None) is None
    assert dossier_view("A-260105-0001", None) == {
        "code": "A-260105-0001",
        "status": None,
        "status_name_vi": None,
        "status_name_en": None,
    }
    assert dossier_view(None, 4) == {
        "code": None,
        "status": 4,
        "status_name_vi": "Đang xử lý",
        "status_name_en": "In processing",
    }
    assert dossier_view(None, "9")["status_name_vi"] == "Đã xử lý xong"  # type: ignore[index]
    assert dossier_view(None, 42) == {"code": None, "status": 42, "status_name_vi": None, "status_name_en": None}
    assert [status_code(v) for v in (True, "x", 2.5, None, [1], 3.0, " 7 ")] == [None, None, None, None, None, 3, 7]


# --- the sequence (real databases) ------------------------------------------------------------------------------------
def test_sequence_counts_per_prefix_and_per_day(container: EngineContainer) -> None:
    assert [take(container, AGENCY, "260105") for _ in range(3)] == [1, 2, 3]
    assert take(container, "G22", "260105") == 1  # another agency has its own count
    assert take(container, AGENCY, "260106") == 1  # a new day restarts at 1
    assert take(container, AGENCY, "260105") == 4
    assert take(container, "G22", "260105") == 2
    with pytest.raises(ValueError, match="YYMMDD"):
        take(container, AGENCY, "2026-01-05")


def test_a_number_taken_in_a_rolled_back_transaction_is_given_again(container: EngineContainer) -> None:
    assert take(container, AGENCY, "260105") == 1
    with pytest.raises(RuntimeError), container.db.transaction() as conn:
        assert next_dossier_number(conn, AGENCY, "260105") == 2
        raise RuntimeError("the start failed after taking its number")
    assert take(container, AGENCY, "260105") == 2


# --- allocation at start ----------------------------------------------------------------------------------------------
def test_start_gives_a_dossier_code_before_the_first_step(container: EngineContainer, clock: FakeClock) -> None:
    deploy_fixture(container, "dossier_green_lane.bpmn")
    first, _ = container.instances.start(INTEGRATOR, "dossier_green_lane", variables=APPOINTMENT)
    second, _ = container.instances.start(INTEGRATOR, "dossier_green_lane", variables=APPOINTMENT)
    row = instance(container, first)
    assert row["dossier_code"] == "000.00.25.H26-260105-0001"  # 08:00 UTC = 15:00 in Hanoi, 5/1/2026
    assert row["variables"]["dossier_code"] == row["dossier_code"]
    # the first script already saw it
    assert row["variables"]["receipt_note"] == "Đã tiếp nhận hồ sơ 000.00.25.H26-260105-0001"
    assert instance(container, second)["dossier_code"] == "000.00.25.H26-260105-0002"
    started = history(container, first)[0]
    assert started["kind"] == "instance_started"
    assert started["data"]["dossier_code"] == row["dossier_code"]
    assert "dossier_code" not in started["data"]["variables"]  # what the caller sent, as sent

    clock.set(datetime(2026, 1, 5, 17, 30, tzinfo=UTC))  # 00:30 on 6/1 in Hanoi: a new receipt day
    third, _ = container.instances.start(INTEGRATOR, "dossier_green_lane", variables=APPOINTMENT)
    assert instance(container, third)["dossier_code"] == "000.00.25.H26-260106-0001"


def test_a_process_without_agency_code_gets_no_dossier(container: EngineContainer) -> None:
    deploy_fixture(container, "deadline_tasks.bpmn")
    instance_id, _ = container.instances.start(INTEGRATOR, "deadline_tasks")
    row = instance(container, instance_id)
    assert row["dossier_code"] is None
    assert "dossier_code" not in row["variables"]
    assert stored_codes(container) == []


def test_an_idempotent_replay_takes_no_second_number(container: EngineContainer) -> None:
    deploy_fixture(container, "dossier_green_lane.bpmn")
    start = partial(
        container.instances.start,
        INTEGRATOR,
        "dossier_green_lane",
        variables=APPOINTMENT,
        idempotency_key="HS-2026-0001",
    )
    first, created = start()
    again, created_again = start()
    assert (created, created_again) == (True, False)
    assert again == first
    other, _ = container.instances.start(INTEGRATOR, "dossier_green_lane", variables=APPOINTMENT)
    assert instance(container, other)["dossier_code"] == "000.00.25.H26-260105-0002"
    assert stored_codes(container) == ["000.00.25.H26-260105-0001", "000.00.25.H26-260105-0002"]


def test_a_start_that_fails_before_commit_gives_its_number_back(container: EngineContainer) -> None:
    deploy_fixture(container, "dossier_green_lane.bpmn")

    def crash() -> None:
        raise RuntimeError("simulated crash before commit")

    container.executor.fail_before_commit = crash
    with pytest.raises(RuntimeError):
        container.instances.start(INTEGRATOR, "dossier_green_lane", variables=APPOINTMENT)
    container.executor.fail_before_commit = None
    instance_id, _ = container.instances.start(INTEGRATOR, "dossier_green_lane", variables=APPOINTMENT)
    assert instance(container, instance_id)["dossier_code"] == "000.00.25.H26-260105-0001"
    assert audit_kinds(container, instance_id)[0] == "instance_started"


def test_the_dossier_code_is_unique_in_the_database(container: EngineContainer) -> None:
    deploy_fixture(container, "dossier_green_lane.bpmn")
    container.instances.start(INTEGRATOR, "dossier_green_lane", variables=APPOINTMENT)
    with container.db.transaction() as conn:  # a sequence reset by hand would hand out the same code again
        conn.execute(text("DELETE FROM dossier_sequence"))
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        container.instances.start(INTEGRATOR, "dossier_green_lane", variables=APPOINTMENT)
    assert stored_codes(container) == ["000.00.25.H26-260105-0001"]


# --- concurrency ------------------------------------------------------------------------------------------------------
@pytest.fixture
def engines(db_url: str, clock: FakeClock, container: EngineContainer) -> Iterator[list[EngineContainer]]:
    """Four engine processes on one database (the ``container`` fixture and three more)."""
    others = [build_engine(db_url, clock=clock) for _ in range(3)]
    yield [container, *others]
    for built in others:
        built.close()


def test_concurrent_starts_get_distinct_consecutive_numbers(engines: list[EngineContainer], clock: FakeClock) -> None:
    deploy_fixture(engines[0], "dossier_green_lane.bpmn")
    starts = [
        partial(engines[i % len(engines)].instances.start, INTEGRATOR, "dossier_green_lane", variables=APPOINTMENT)
        for i in range(20)
    ]
    results = run_threads(starts, timeout=120)
    assert [kind for kind, _ in results] == ["ok"] * 20, [r for r in results if r[0] != "ok"]
    codes = stored_codes(engines[0])
    assert len(set(codes)) == 20
    assert sorted(int(code.rsplit("-", 1)[1]) for code in codes) == list(range(1, 21))
    assert {code.rsplit("-", 1)[0] for code in codes} == {"000.00.25.H26-260105"}
    # each instance carries the code it was given, in its variables too
    for _, (instance_id, created) in results:
        row = instance(engines[0], instance_id)
        assert created and row["variables"]["dossier_code"] == row["dossier_code"]
    with engines[0].db.transaction(write=False) as conn:
        assert conn.execute(text("SELECT last FROM dossier_sequence")).scalar_one() == 20
    clock.advance(timedelta(days=1))
    instance_id, _ = engines[1].instances.start(INTEGRATOR, "dossier_green_lane", variables=APPOINTMENT)
    assert instance(engines[0], instance_id)["dossier_code"] == "000.00.25.H26-260106-0001"
