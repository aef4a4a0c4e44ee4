"""What a server does once it listens: loading the calendar file, deploy-on-start (only the folders that changed on
disk since its own last deploy, engine.commands.startup_deploys), then linting the slip templates and warming the
compiled models of the versions new starts use, in one background thread, so the port accepts connections right after
the schema check (a read: nothing before it listens waits for another writer). ``GET /readyz`` answers 503 until the
calendar and the deployments are in place (``deployed``; or with the error that stopped them), then 200: the slip
lint and the warming only log, and a request that needs a model before it is warm compiles it itself, so neither
holds readiness (on an unchanged restart they were most of its CPU). ``GET /healthz`` stays the liveness check."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from phoihop.engine.commands.startup_deploys import StartupDeploys
from phoihop.engine.container import EngineContainer
from phoihop.engine.definitions.process_files import deployable_sets
from phoihop.engine.definitions.slips import lint_slip_folder
from phoihop.engine.model import Actor
from phoihop.engine.store.schema import current_revision, head_revision
from phoihop.settings import Settings

log = logging.getLogger("phoihop")
DEPLOYER = Actor.of("system:deploy", name="Triển khai tự động", roles=("process-owner",))
JOIN_SECONDS = 30.0  # how long shutdown waits for start-up work still running


@dataclass
class StartupWork:
    """The start-up work's state, read by /readyz: ``deployed`` once the calendar file and deploy-on-start are done
    (ready), ``done`` once all of it ended (warming included), ``error`` when what readiness waits for failed."""

    deployed: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    summary: list[str] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def start(self, container: EngineContainer, settings: Settings) -> None:
        self._thread = threading.Thread(
            target=self.run, args=(container, settings), name="phoihop-startup", daemon=True
        )
        self._thread.start()

    def run(self, container: EngineContainer, settings: Settings) -> None:
        started = time.perf_counter()
        try:
            if container.calendar.file is not None:  # a write: never before the port listens
                changed = container.calendar.load_file()
                log.info("calendar overrides from %s: %d day(s) changed", container.calendar.file, changed)
            work = StartupDeploys(container.deployments)
            folders = deployable_sets(settings.processes_dir) if settings.deploy_on_start else []
            for outcome in work.run(DEPLOYER, folders, strict=settings.strict_lint):
                line = outcome.describe()
                self.summary.append(line)
                if outcome.newer:
                    log.warning("deploy on start: %s", line)
                else:
                    log.info("deploy on start: %s", line)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("start-up work failed: the server stays not ready (GET /readyz answers 503)")
            self.done.set()
            return
        self.deployed.set()
        log.info("ready: deploy on start done in %.2f s", time.perf_counter() - started)
        try:
            for label, _ in folders:  # the slip templates beside each process: a field they do not have
                for finding in lint_slip_folder(settings.processes_dir / label / "slips"):
                    log.error("slip template %s/%s: %s", label, finding["file"], finding["message_en"])
            warmed = work.warm(self.stopping)
            log.info("%d process version(s) compiled in %.2f s from the start", warmed, time.perf_counter() - started)
        except Exception:  # a stored version that does not compile fails its own requests; the server stays ready
            log.exception("warming the compiled process versions failed")
        finally:
            self.done.set()

    def join(self) -> None:
        self.stopping.set()  # the warming begins no further version; deploying, which readiness waits for, finishes
        if self._thread is not None:
            self._thread.join(JOIN_SECONDS)


@dataclass(frozen=True)
class NotReady:
    code: str  # the problem type's last segment
    detail: str
    detail_vi: str


def not_ready(container: EngineContainer, work: StartupWork) -> NotReady | None:
    """Why the server is not ready (None: ready): the database answers, its schema is at this code's head, and the
    start-up work is done without error. One short read transaction; blocking (call it from a thread)."""
    try:
        with container.db.transaction(write=False) as conn:
            revision = current_revision(conn)
    except Exception:
        log.warning("readiness: the database is unreachable", exc_info=True)  # the driver's words for the operator
        return NotReady("database-unavailable", "the database is unreachable", "Không kết nối được cơ sở dữ liệu")
    if revision != head_revision():
        return NotReady(
            "schema-not-at-head",
            f"the database schema is at {revision}, this server needs {head_revision()} (run `phoihop upgrade-schema`)",
            f"Lược đồ cơ sở dữ liệu ở phiên bản {revision}, máy chủ cần {head_revision()}",
        )
    if work.error is not None:
        return NotReady(  # what failed is in the server's log (paths and compile messages are not for the public)
            "startup-failed", "start-up work failed (see the server log)", "Các bước khởi động máy chủ bị lỗi"
        )
    if not work.deployed.is_set():
        return NotReady(
            "starting",
            "start-up work is running (calendar file, deploy-on-start)",
            "Máy chủ đang khởi động (tải lịch làm việc, triển khai quy trình)",
        )
    return None
