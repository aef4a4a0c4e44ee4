"""Inbox at city scale (issue 15, goal 1): build a database of many open human tasks and a long history, then time the
reads an officer makes all day.

Build (once; ``--reuse`` keeps a database built before with the same sizes):
- the database: PostgreSQL on the local server (``--pg-url``, default 127.0.0.1:5432) in a database of its own,
  ``phoihop_scale`` (dropped and created), or with ``--database sqlite`` a file (``--sqlite-path``), schema by
  ``alembic upgrade head``;
- one process, ``scale_case``, written by this script: start → a parallel split into 8 user tasks → join → end, each
  task's agency named at run time by the variable ``agency`` (property ``candidateGroupsVariable``) and its due time by
  the variable ``due`` (an ISO moment between 10 days ago and 30 days ahead, none for one case in eight);
- the OPEN tasks: ``--open-tasks`` ÷ 8 instances started through the engine's own start command
  (``InstanceCommands.start``: lock, run SpiffWorkflow, write the rows, commit), spread over ``--workers`` processes
  (multiprocessing, each with its own engine and connections), cases round-robin over 16 agencies, Vietnamese titles
  and applicant names with diacritics;
- the HISTORY: one template case run to its end by the engine (8 tasks completed), then its rows cloned
  ``--finished-tasks`` ÷ 8 times with new ids, agencies, texts and times spread over the two years before: the
  ``process_instance`` row (status completed, the engine's own state text), its 8 ``human_task`` rows (status
  completed, ``search_text`` folded as the engine folds it) and their ``task_candidate`` rows (with the task's status,
  due and creation times), exactly the columns
  and value shapes the engine writes. PostgreSQL: ``COPY … FROM STDIN`` (psycopg's ``write_row``); SQLite:
  ``executemany`` of the tables' own INSERTs through SQLAlchemy. The template's ``instance_task`` records and audit
  rows are not cloned (no inbox or dashboard read touches them); ANALYZE (VACUUM ANALYZE on PostgreSQL) runs at the end.

Measure (``--requests`` each, after 10 not counted), in-process through the whole ASGI app (Starlette TestClient:
routing, auth, handlers, SQL, JSON or HTML), signed in as ``skhcn.an`` (an officer of one of the 16 agencies):
``GET /api/v1/tasks`` (first page, default sort), ``?deadline=overdue``, the web inbox ``/``, its text search
``/?q=<name without diacritics>``, and ``GET /api/v1/dashboard``. Prints a table of p50/p95/max and a last line of
JSON with ``database``, ``open_tasks``, ``finished_tasks``, ``inbox_p95_ms``, ``overdue_p95_ms``, ``search_p95_ms``,
``web_inbox_p95_ms``, ``dashboard_ms`` (the dashboard's p95), and each read's mean CPU per request (``<read>_cpu_ms``:
this process's CPU, the client's and the in-process server's together, which a loaded machine's wall times hide).

Usage: python bench/scale.py [--database postgresql|sqlite] [--open-tasks 100000] [--finished-tasks 900000]
                             [--workers 2] [--requests 200] [--reuse] [--build-only] [--measure-only]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# the code measured: this tree, or another checkout's (PHOIHOP_BENCH_CODE=/work/main: the "before" of
# docs/benchmarks.md, run with --measure-only on a database this tree built and upgraded)
CODE = Path(os.environ.get("PHOIHOP_BENCH_CODE") or ROOT).resolve()
sys.path[:] = [str(CODE)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

PG_URL = os.environ.get("PHOIHOP_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# PHOIHOP_BENCH_PG_DATABASE: another name, say a copy made with CREATE DATABASE … TEMPLATE phoihop_scale
PG_DATABASE = os.environ.get("PHOIHOP_BENCH_PG_DATABASE", "phoihop_scale")
KEY = "scale_case"
TASKS_PER_CASE = 8
AGENCIES = ("skhcn", "htkc", "ubnd", "snnmt", "ttpvhcc", *(f"quan{i:02d}" for i in range(1, 12)))  # 16
OFFICER_SUB, OFFICER_GROUP = "skhcn.an", "skhcn"
SEARCH = "tran thi thu"  # an applicant's name typed without diacritics: "Trần Thị Thu …" (if the officer has one)
SECRET = "scale-bench-" + "x" * 40
TASK_NAMES = (
    "Tiếp nhận hồ sơ",
    "Kiểm tra tính đầy đủ",
    "Thẩm định hồ sơ",
    "Lấy ý kiến phối hợp",
    "Tổng hợp ý kiến",
    "Trình lãnh đạo",
    "Ký duyệt",
    "Trả kết quả",
)
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLES = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Ngọc")
GIVENS = ("An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Lan", "Long", "Mai", "Nam", "Thu", "Tú")
TOPICS = (
    "Cấp giấy chứng nhận doanh nghiệp khoa học và công nghệ",
    "Thẩm định công nghệ dự án đầu tư",
    "Đăng ký kết quả thực hiện nhiệm vụ",
    "Cấp phép hoạt động dịch vụ",
    "Xác nhận hàng hóa sử dụng trực tiếp cho nghiên cứu",
    "Giao quyền sở hữu kết quả nghiên cứu",
)


def process_xml() -> str:
    tasks = "\n".join(
        f'    <bpmn:userTask id="t{i}" name="{name}" camunda:dueDate="due">'
        '<bpmn:extensionElements><camunda:properties><camunda:property name="candidateGroupsVariable" value="agency"/>'
        f"</camunda:properties></bpmn:extensionElements><bpmn:incoming>s{i}</bpmn:incoming>"
        f"<bpmn:outgoing>j{i}</bpmn:outgoing></bpmn:userTask>"
        for i, name in enumerate(TASK_NAMES)
    )
    flows = "\n".join(
        f'    <bpmn:sequenceFlow id="s{i}" sourceRef="split" targetRef="t{i}"/>'
        f'<bpmn:sequenceFlow id="j{i}" sourceRef="t{i}" targetRef="join"/>'
        for i in range(len(TASK_NAMES))
    )
    outs = "".join(f"<bpmn:outgoing>s{i}</bpmn:outgoing>" for i in range(len(TASK_NAMES)))
    ins = "".join(f"<bpmn:incoming>j{i}</bpmn:incoming>" for i in range(len(TASK_NAMES)))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_scale" targetNamespace="http://phoihop/bench">
  <bpmn:process id="{KEY}" name="Hồ sơ liên thông (đo tải)" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f0</bpmn:incoming>{outs}</bpmn:parallelGateway>
{tasks}
    <bpmn:parallelGateway id="join">{ins}<bpmn:outgoing>f1</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split"/>
{flows}
    <bpmn:sequenceFlow id="f1" sourceRef="join" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def case_variables(n: int, now: datetime, rng: random.Random, *, history: bool = False) -> dict[str, Any]:
    applicant = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLES)} {rng.choice(GIVENS)} {rng.choice(GIVENS)}"
    due = None if rng.random() < 0.125 else (now + timedelta(minutes=rng.randint(-10 * 1440, 30 * 1440))).isoformat()
    return {
        "agency": AGENCIES[n % len(AGENCIES)],
        "due": due,
        "title": f"{rng.choice(TOPICS)} số {n}",
        "applicant_name": applicant,
        **({"history": True} if history else {}),
    }


# --- the database -----------------------------------------------------------------------------------------------------
def database_url(args: argparse.Namespace) -> str:
    if args.database == "sqlite":
        return f"sqlite:///{args.sqlite_path}"
    return PG_URL.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def built_marker(args: argparse.Namespace) -> dict[str, Any] | None:
    """What a build left: the PostgreSQL database's comment, or a file beside the SQLite file."""
    if args.database == "sqlite":
        path = Path(str(args.sqlite_path) + ".built.json")
        return json.loads(path.read_text()) if path.exists() and Path(args.sqlite_path).exists() else None
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            comment = conn.execute(
                text("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"),
                {"n": PG_DATABASE},
            ).scalar()
    finally:
        admin.dispose()
    return json.loads(comment) if comment else None


def mark_built(args: argparse.Namespace, marker: dict[str, Any]) -> None:
    if args.database == "sqlite":
        Path(str(args.sqlite_path) + ".built.json").write_text(json.dumps(marker))
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"COMMENT ON DATABASE \"{PG_DATABASE}\" IS '{json.dumps(marker)}'"))
    finally:
        admin.dispose()


def fresh_database(args: argparse.Namespace) -> str:
    url = database_url(args)
    if args.database == "sqlite":
        for suffix in ("", "-wal", "-shm", ".built.json"):
            Path(str(args.sqlite_path) + suffix).unlink(missing_ok=True)
        return url
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    finally:
        admin.dispose()
    return url


# --- building: open tasks through the engine -------------------------------------------------------------------------
def _start_cases(job: tuple[str, int, int, int, str]) -> int:
    """In a worker process: start the cases ``first, first + step, …`` below ``stop`` (own engine, own connections)."""
    url, first, stop, step, now_iso = job
    from phoihop.engine.container import build_engine
    from phoihop.engine.model import Actor

    now, rng = datetime.fromisoformat(now_iso), random.Random(first)
    starter = Actor.of("ttpvhcc.khanh", groups=("ttpvhcc",), roles=("officer",))
    container = build_engine(url, pool_size=2)
    try:
        started = 0
        for n in range(first, stop, step):
            container.instances.start(starter, KEY, business_key=f"HS-{n:07d}", variables=case_variables(n, now, rng))
            started += 1
        return started
    finally:
        container.close()


def build_open(url: str, cases: int, workers: int, now: datetime) -> float:
    started = time.perf_counter()
    jobs = [(url, w, cases, workers, now.isoformat()) for w in range(workers)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        done = sum(pool.map(_start_cases, jobs))
    assert done == cases, (done, cases)
    return time.perf_counter() - started


# --- building: history cloned in the engine's row shape --------------------------------------------------------------
def template_case(container: Any, now: datetime) -> str:
    """One case run to its end by the engine: its rows are the shape history is cloned in."""
    from phoihop.engine.model import Actor

    starter = Actor.of("ttpvhcc.khanh", groups=("ttpvhcc",), roles=("officer",))
    officer = Actor.of("skhcn.an", groups=AGENCIES, roles=("officer",))
    variables = case_variables(0, now, random.Random(0), history=True)
    instance_id, _ = container.instances.start(starter, KEY, business_key="HS-TEMPLATE", variables=variables)
    for task_id in container.task_reads.open_task_ids(officer, instance_id):
        container.tasks.complete(officer, task_id, {})
    return str(instance_id)


def history_rows(
    template: dict[str, Any], tasks: list[dict[str, Any]], n: int, now: datetime, rng: random.Random
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Case ``n`` of the history: the template's rows with new ids, agency, texts and times."""
    from phoihop.engine.search_text import task_search_text

    instance_id = str(uuid.uuid4())
    variables = {**template["variables"], **case_variables(n, now, rng, history=True)}
    agency = variables["agency"]
    started = now - timedelta(minutes=rng.randint(40 * 1440, 730 * 1440))
    business_key = f"LS-{n:07d}"
    instance = {
        **template,
        "id": instance_id,
        "business_key": business_key,
        "variables": variables,
        "started_at": started,
        "ended_at": started + timedelta(days=20),
        "dossier_code": None,
        "lookup_secret": None,
    }
    human, candidates = [], []
    for task in tasks:
        created = started + timedelta(minutes=rng.randint(0, 5 * 1440))
        completed = created + timedelta(minutes=rng.randint(60, 15 * 1440))
        due = created + timedelta(days=10)
        task_id = str(uuid.uuid4())
        human.append(
            {
                **task,
                "id": task_id,
                "instance_id": instance_id,
                "candidate_groups": [agency],
                "created_at": created,
                "claimed_at": completed,
                "completed_at": completed,
                "due_at": due,
                "warn_at": created + timedelta(days=7),
                "assignee": f"{agency}.officer{rng.randint(1, 30)}",
                "completed_by": f"{agency}.officer{rng.randint(1, 30)}",
                "search_text": task_search_text(task["name"], business_key, variables),
            }
        )
        candidates.append(
            {
                "task_id": task_id,
                "kind": "group",
                "value": agency,
                "status": task["status"],
                "due_at": due,
                "created_at": created,
            }
        )
    return instance, human, candidates


def build_history(url: str, container: Any, cases: int, now: datetime) -> float:
    from sqlalchemy import select

    from phoihop.engine.store.tables import human_task_table, instance_table, task_candidate_table

    started = time.perf_counter()
    template_id = template_case(container, now)
    db = container.db
    with db.transaction(write=False) as conn:
        template = dict(conn.execute(select(instance_table).where(instance_table.c.id == template_id)).mappings().one())
        tasks = [
            dict(r)
            for r in conn.execute(
                select(human_task_table).where(human_task_table.c.instance_id == template_id)
            ).mappings()
        ]
    assert template["status"] == "completed" and len(tasks) == TASKS_PER_CASE, (template["status"], len(tasks))
    rng, batch = random.Random(7), 2000
    tables = (instance_table, human_task_table, task_candidate_table)
    for first in range(0, cases, batch):
        rows: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]] = ([], [], [])
        for n in range(first, min(cases, first + batch)):
            instance, human, candidates = history_rows(template, tasks, n, now, rng)
            rows[0].append(instance)
            rows[1].extend(human)
            rows[2].extend(candidates)
        with db.transaction() as conn:
            for table, table_rows in zip(tables, rows, strict=True):
                if conn.dialect.name == "postgresql":
                    _copy(conn, table, table_rows)
                else:
                    conn.execute(table.insert(), table_rows)
        print(f"  history: {min(cases, first + batch) * TASKS_PER_CASE:,} tasks", end="\r", flush=True)
    print()
    return time.perf_counter() - started


def _copy(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL ``COPY table (columns) FROM STDIN`` of ``rows`` (JSON columns as their JSON text)."""
    import orjson

    columns = [c.name for c in table.columns]
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [orjson.dumps(row[c]).decode() if isinstance(row[c], dict | list) else row[c] for c in columns]
            )


def analyze(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            # VACUUM too on PostgreSQL: the visibility map lets index-only scans skip the heap, as autovacuum would
            conn.execute(text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"))
    finally:
        engine.dispose()


def build(args: argparse.Namespace) -> dict[str, Any]:
    from phoihop.engine.container import build_engine
    from phoihop.engine.model import Actor, SourceFile
    from phoihop.engine.store.schema import upgrade

    cases = args.open_tasks // TASKS_PER_CASE
    url = database_url(args) if args.resume_history else fresh_database(args)
    upgrade(url)
    now = datetime.now(UTC)
    container = build_engine(url)
    open_seconds = 0.0
    try:
        if args.resume_history:  # the open tasks are there (a build stopped in its history): clone the history only
            print(f"resuming {args.database}: the history of {cases * TASKS_PER_CASE:,} open tasks")
        else:
            owner = Actor.of("bench-owner", roles=("process-owner",))
            container.deployments.deploy(owner, [SourceFile("scale_case.bpmn", process_xml().encode())])
            size = f"{cases * TASKS_PER_CASE:,} open tasks ({cases:,} cases, {args.workers} workers)"
            print(f"building {args.database}: {size}")
            open_seconds = build_open(url, cases, args.workers, now)
            print(f"  open: {open_seconds:.0f} s ({cases / open_seconds:.1f} cases/s)   load {loadavg()}")
        history_seconds = build_history(url, container, args.finished_tasks // TASKS_PER_CASE, now)
        print(f"  history: {history_seconds:.0f} s   load {loadavg()}")
    finally:
        container.close()
    analyze(url)
    marker = {
        "open_tasks": cases * TASKS_PER_CASE,
        "finished_tasks": args.finished_tasks // TASKS_PER_CASE * TASKS_PER_CASE,
        "built_at": now.isoformat(),
        "open_seconds": round(open_seconds),
        "history_seconds": round(history_seconds),
    }
    mark_built(args, marker)
    return marker


# --- measuring --------------------------------------------------------------------------------------------------------
def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


@contextmanager
def app_client(url: str) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from phoihop.app import create_app
    from phoihop.settings import Settings

    settings = Settings(env="dev", database_url=url, secret_key=SECRET, deploy_on_start=False, run_scheduler=False)
    with TestClient(create_app(settings, upgrade_schema=False), raise_server_exceptions=True) as client:
        assert client.app.state.startup.done.wait(120)  # type: ignore[attr-defined]
        yield client


def web_browser(client: Any) -> Any:
    """A browser signed in as the demo officer (the dev sign-in page)."""
    import re

    from fastapi.testclient import TestClient

    browser = TestClient(client.app, raise_server_exceptions=True)
    page = browser.get("/dang-nhap")
    csrf = re.search(r'name="csrf[-_]token" (?:value|content)="([^"]+)"', page.text)
    assert csrf is not None, page.text[:500]
    answer = browser.post(
        "/dang-nhap/thu", data={"sub": OFFICER_SUB, "next": "/", "csrf_token": csrf.group(1)}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text[:500]
    return browser


CPU: dict[str, float] = {}  # a read's mean CPU per request (ms): this process's, client and server threads together


def timed(get: Callable[[], Any], requests: int, check: Callable[[Any], None], name: str = "") -> list[float]:
    for _ in range(10):
        check(get())
    times = []
    cpu = time.process_time()
    for _ in range(requests):
        start = time.perf_counter()
        response = get()
        times.append((time.perf_counter() - start) * 1000)
        check(response)
    CPU[name] = (time.process_time() - cpu) * 1000 / requests
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=100, method="inclusive")[94]


def search_term(url: str) -> tuple[str, int]:
    """The text search measured: ``SEARCH`` when the officer's agency holds a live task of that applicant, else the
    first name "<surname> thị <given>" (then any middle name) that it holds, each build being random (a search that
    finds nothing measures a different read on each database); with how many of the agency's live tasks hold it,
    counted here by plain SQL over the folded texts (the figure the search's first page is checked against)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            texts = conn.execute(
                text(
                    "SELECT h.search_text FROM task_candidate c JOIN human_task h ON h.id = c.task_id"
                    " WHERE c.kind = 'group' AND c.value = :group"
                    " AND c.status IN ('open', 'claimed', 'awaiting_approval')"
                ),
                {"group": OFFICER_GROUP},
            ).scalars()
            names = [t.split(" | ")[-1] for t in texts if t]
    finally:
        engine.dispose()
    folded = [fold(f"{s} {m} {g}") for m in ("Thị", *MIDDLES) for s in SURNAMES for g in GIVENS]
    for term in dict.fromkeys([SEARCH, *folded]):
        found = sum(1 for name in names if term in name)
        if found:
            return term, found
    return SEARCH, 0


def fold(text: str) -> str:
    """As engine/search_text.py folds (no diacritics, đ → d, lower case)."""
    import unicodedata

    bare = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "d"))
    return "".join(c for c in bare if not unicodedata.combining(c)).casefold()


def measure(url: str, requests: int) -> dict[str, list[float]]:
    from phoihop.auth import issue_token

    token = issue_token(SECRET, sub=OFFICER_SUB, name="Nguyễn Văn An", groups=[OFFICER_GROUP], roles=["officer"])
    headers = {"Authorization": f"Bearer {token}"}
    results: dict[str, list[float]] = {}
    term, expected = search_term(url)
    with app_client(url) as client:
        browser = web_browser(client)

        def ok(response: Any) -> None:
            assert response.status_code == 200, (response.status_code, response.text[:300])

        def api_page(response: Any) -> None:
            ok(response)
            assert response.json()["items"], "an empty page measures nothing"

        reads: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {
            "inbox": (lambda: client.get("/api/v1/tasks", headers=headers), api_page),
            "overdue": (lambda: client.get("/api/v1/tasks?deadline=overdue", headers=headers), api_page),
            "web_inbox": (lambda: browser.get("/"), ok),
            "search": (lambda: browser.get("/", params={"q": term}), ok),
            "dashboard": (lambda: client.get("/api/v1/dashboard", headers=headers), ok),
        }
        api_search = client.get("/api/v1/tasks", params={"q": term}, headers=headers).json()
        print(
            f"search {term!r}{'' if term == SEARCH else f' (no live task of {SEARCH!r} in this build)'}:"
            f" {len(api_search['items'])} tasks on the first page, {expected} of the agency's live tasks by plain SQL"
        )
        assert api_search["items"] or not expected, "the search found none of the tasks plain SQL finds"
        for name, (get, check) in reads.items():
            results[name] = timed(get, requests, check, name)
            t = results[name]
            print(
                f"{name:10s} p50 {statistics.median(t):8.1f} ms  p95 {p95(t):8.1f} ms  max {max(t):8.1f} ms"
                f"  CPU {CPU[name]:6.1f} ms/request   load {loadavg()}"
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--open-tasks", type=int, default=100_000)
    parser.add_argument("--finished-tasks", type=int, default=900_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sqlite-path", type=Path, default=Path(tempfile.gettempdir()) / "phoihop_scale.db")
    parser.add_argument("--reuse", action="store_true", help="keep a database built before with the same sizes")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--resume-history", action="store_true", help="open tasks built: clone the history only")
    parser.add_argument("--measure-only", action="store_true", help="measure whatever database is there")
    args = parser.parse_args()
    url = database_url(args)
    marker = built_marker(args) if (args.reuse or args.measure_only) else None
    wanted = (
        args.open_tasks // TASKS_PER_CASE * TASKS_PER_CASE,
        args.finished_tasks // TASKS_PER_CASE * TASKS_PER_CASE,
    )
    if args.measure_only and marker is None:
        sys.exit("no database built: run without --measure-only first")
    if (
        args.resume_history
        or marker is None
        or (not args.measure_only and (marker["open_tasks"], marker["finished_tasks"]) != wanted)
    ):
        marker = build(args)
    else:
        print(f"reusing {args.database}: {marker['open_tasks']:,} open, {marker['finished_tasks']:,} finished")
    if CODE == ROOT:
        from phoihop.engine.store.schema import upgrade

        upgrade(url)  # a database built by an older schema is brought to head (the indexes measured)
    print(f"code measured: {CODE}")
    if args.build_only:
        return
    times = measure(url, args.requests)
    result = {
        "database": args.database,
        "open_tasks": marker["open_tasks"],
        "finished_tasks": marker["finished_tasks"],
        "inbox_p95_ms": round(p95(times["inbox"]), 1),
        "overdue_p95_ms": round(p95(times["overdue"]), 1),
        "search_p95_ms": round(p95(times["search"]), 1),
        "web_inbox_p95_ms": round(p95(times["web_inbox"]), 1),
        "dashboard_ms": round(p95(times["dashboard"]), 1),
        # CPU per request (client and in-process server): what a loaded machine's wall times hide
        **{f"{name}_cpu_ms": round(CPU[name], 1) for name in times},
        "loadavg": loadavg(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
