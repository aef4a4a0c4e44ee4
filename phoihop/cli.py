"""The ``phoihop`` command: serve, upgrade-schema, worker, deploy, layout, lint, trace, token, apikey, sessions,
audit, retention."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from phoihop.engine.errors import EngineError
from phoihop.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        sys.exit(f"phoihop: configuration error: {exc}")


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from phoihop.app import create_app
    from phoihop.engine.container import stop_script_workers

    settings = _settings()
    # SIGTERM is how systemd and Kubernetes stop a server: uvicorn stops taking connections, lets the requests in
    # flight finish (at most timeout_graceful_shutdown), runs the lifespan's shutdown, then raises the signal again;
    # this handler makes that a clean exit (status 0) instead of a death by signal (a SIGTERM before uvicorn took
    # over, while the app is built, exits at once the same way)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        # log_config=None: uvicorn keeps the logging main() set up (JSON lines); phoihop.request logs each request once,
        # so uvicorn's own access log is off unless asked for
        uvicorn.run(
            create_app(settings),
            host=args.host,
            port=args.port,
            log_level="info",
            log_config=None,
            access_log=args.access_log,
            timeout_graceful_shutdown=30,
        )
    finally:
        stop_script_workers()
    return 0


def cmd_upgrade_schema(args: argparse.Namespace) -> int:
    from phoihop.engine.store.schema import head_revision, upgrade

    settings = _settings()
    where = settings.database_url.split("@")[-1]
    before = upgrade(settings.database_url)
    head = head_revision()
    if before == head:
        print(f"database schema already at revision {head}: {where}")
    else:
        print(f"database schema upgraded from {before or '(empty database)'} to revision {head}: {where}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from phoihop.engine.container import build_engine, stop_script_workers
    from phoihop.engine.store.schema import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    container = build_engine(settings.database_url, **settings.engine_options())
    if settings.retention_in_worker:
        retention = _retention(settings, container)
        if retention is not None:
            container.scheduler.jobs = (*container.scheduler.jobs, retention.job)
    print("phoihop worker: firing timers, sending webhooks (Ctrl+C to stop)", flush=True)
    try:
        container.scheduler.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        container.close()
        stop_script_workers()
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from phoihop.app import DEPLOYER
    from phoihop.engine.container import build_engine
    from phoihop.engine.definitions.lint.findings import format_finding
    from phoihop.engine.definitions.process_files import deployable_sets
    from phoihop.engine.definitions.slips import lint_slip_folder
    from phoihop.engine.store.schema import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    container = build_engine(settings.database_url, **settings.engine_options())
    status = 0
    try:
        for path in args.paths:
            for label, files in deployable_sets(Path(path)):
                folder = Path(path) / label if (Path(path) / label).is_dir() else Path(path)
                slip_findings = lint_slip_folder(folder / "slips")  # the slip templates: unknown fields refuse
                for finding in slip_findings:
                    print(f"{label}: {format_finding(finding, folder)}", file=sys.stderr)
                if slip_findings:
                    status = 1
                    continue
                try:
                    results = container.deployments.deploy(
                        DEPLOYER, files, strict=args.strict or settings.strict_lint, change_note=args.change_note
                    )
                    for result in results:
                        state = "new version" if result.created else "unchanged"
                        print(f"{label}: {result.key} v{result.version} ({state}) {result.content_hash[:12]}")
                    for finding in results[0].warnings if results else ():
                        print(f"  {format_finding(finding)}")
                except EngineError as exc:
                    status = 1
                    print(f"{label}: {exc.detail}", file=sys.stderr)
                    for problem in exc.fields.get("problems", []):
                        print(f"  - {problem}", file=sys.stderr)
    finally:
        container.close()
    return status


def cmd_layout(args: argparse.Namespace) -> int:
    from phoihop.engine.definitions.layout.diagram import layout_files

    return layout_files(args.files, check=args.check)


def cmd_lint(args: argparse.Namespace) -> int:
    from phoihop.engine.agencies import default_registry
    from phoihop.engine.definitions.catalog import compile_deployment
    from phoihop.engine.definitions.lint.deployment import lint_path
    from phoihop.engine.definitions.lint.findings import format_finding
    from phoihop.engine.execution.sandbox_policy import check_source
    from phoihop.engine.model import SourceFile
    from phoihop.engine.store.tables import NAME_LIMITS

    agencies = default_registry()

    def compile_files(files: Sequence[SourceFile]) -> Any:
        return compile_deployment(files, agencies=agencies, check=check_source)

    totals = {"error": 0, "warning": 0}
    deployments = 0
    for path in map(Path, args.paths):
        results = lint_path(path, compile_files=compile_files, strict=args.strict, limits=NAME_LIMITS)
        if not results:
            print(f"{path}: không có tệp BPMN/DMN nào / no BPMN or DMN file", file=sys.stderr)
            totals["error"] += 1
        for folder, findings in results:
            deployments += 1
            for finding in findings:
                totals[finding["severity"]] += 1
                print(format_finding(finding, folder))
    print(
        f"{deployments} gói triển khai: {totals['error']} lỗi, {totals['warning']} cảnh báo / {deployments} "
        f"deployment(s): {totals['error']} error(s), {totals['warning']} warning(s)"
    )
    return 1 if totals["error"] else 0


def cmd_trace(args: argparse.Namespace) -> int:
    from phoihop.engine.definitions.traceability import render_markdown, trace_processes

    processes = Path(args.processes)
    output = Path(args.output)
    try:
        trace = trace_processes(processes, Path(args.articles) if args.articles else None)
    except EngineError as exc:
        print(f"phoihop trace: {exc.detail_vi} / {exc.detail}", file=sys.stderr)
        return 1
    text = render_markdown(trace)
    for problem in trace.problems:
        print(f"vấn đề: {problem}", file=sys.stderr)
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != text:
            print(
                f"{output} chưa cập nhật: chạy `phoihop trace` / {output} is out of date: run `phoihop trace`",
                file=sys.stderr,
            )
            return 1
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        print(f"đã ghi / wrote {output}")
    return 1 if trace.problems else 0


def cmd_token(args: argparse.Namespace) -> int:
    from phoihop.auth import issue_token

    settings = _settings()
    print(
        issue_token(
            settings.secret,
            sub=args.sub,
            name=args.name,
            groups=_csv(args.groups),
            roles=_csv(args.roles),
            ttl=timedelta(minutes=args.ttl_minutes or settings.token_ttl_minutes),
        )
    )
    return 0


def cmd_apikey(args: argparse.Namespace) -> int:
    from phoihop.engine.clock import SystemClock
    from phoihop.engine.commands.api_keys import ApiKeys
    from phoihop.engine.store.database import Database
    from phoihop.engine.store.schema import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    keys = ApiKeys(db, SystemClock())
    try:
        if args.action == "create":
            print(keys.create(args.name, roles=_csv(args.roles), groups=_csv(args.groups)))
        elif args.action == "list":
            for api_key in keys.list():
                print(
                    f"{api_key.name}\troles={','.join(api_key.roles)}\tgroups={','.join(api_key.groups)}"
                    f"\trevoked={api_key.revoked_at or '-'}"
                )
        elif not keys.revoke(args.name):
            print(f"no active key named {args.name}", file=sys.stderr)
            return 1
    except EngineError as exc:
        print(exc.detail, file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0


def cmd_sessions(args: argparse.Namespace) -> int:
    """Web-app sessions: ``revoke --user ID`` signs a person out everywhere; ``purge`` deletes expired rows."""
    from phoihop.engine.clock import SystemClock
    from phoihop.engine.commands.web_sessions import WebSessions
    from phoihop.engine.model import Actor
    from phoihop.engine.store.database import Database
    from phoihop.engine.store.schema import upgrade_if_needed

    settings = _settings()
    upgrade_if_needed(settings.database_url)
    db = Database(settings.database_url)
    sessions = WebSessions(db, SystemClock())
    try:
        if args.action == "revoke":
            if not args.user:
                print("--user is required", file=sys.stderr)
                return 2
            operator = Actor.of("system:cli", name="phoihop sessions", roles=("admin",))
            revoked = sessions.revoke_user(operator, args.user)
            print(f"{revoked.user_id}: {revoked.sessions_revoked} session(s) revoked")
        else:
            print(f"{sessions.purge_expired()} expired session(s) deleted")
    except EngineError as exc:
        print(exc.detail, file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """``verify``: walk the audit chains (engine/store/audit_chain.py); exit 0 when intact, 1 naming the first broken
    event."""
    from phoihop.engine.store import audit_chain
    from phoihop.engine.store.database import Database

    settings = _settings()
    db = Database(settings.database_url)
    try:
        with db.transaction(write=False) as conn:
            broken = audit_chain.verify(conn)
            count = conn.execute(audit_chain.count_statement()).scalar_one()
    finally:
        db.dispose()
    if broken is None:
        print(f"audit chain intact: {count} event(s)")
        return 0
    where = f"event {broken.event_id}" if broken.event_id is not None else "the end of the chain"
    position = f" (position {broken.chain_seq})" if broken.chain_seq is not None else ""
    print(f"audit chain broken at {where}{position}: {broken.reason}")
    return 1


def _retention(settings: Settings, container: Any) -> Any:
    """The retention of ``settings`` on ``container`` (None: retention is off); exits when no archive folder is set."""
    from phoihop.engine.commands.retention import Retention

    if settings.retention_days is None:
        return None
    if settings.retention_archive_dir is None:
        sys.exit("phoihop: configuration error: PHOIHOP_RETENTION_ARCHIVE_DIR is required when retention is on")
    return Retention(
        container.db,
        container.clock,
        container.dashboard,
        days=settings.retention_days,
        archive_dir=settings.retention_archive_dir,
        batch=settings.retention_batch,
        contents=container.documents.content,
    )


def cmd_retention(args: argparse.Namespace) -> int:
    """``run``: archive and purge the instances finished before the retention cutoff (engine/commands/retention.py)."""
    from phoihop.engine.container import build_engine, stop_script_workers
    from phoihop.engine.store.schema import upgrade

    settings = _settings()
    if settings.retention_days is None:
        print("retention is off: set PHOIHOP_RETENTION_DAYS (and PHOIHOP_RETENTION_ARCHIVE_DIR) to turn it on")
        return 0
    upgrade(settings.database_url)
    container = build_engine(settings.database_url, **settings.engine_options())
    try:
        retention = _retention(settings, container)
        report = retention.run(dry_run=args.dry_run)
    except EngineError as exc:
        print(f"retention: {exc.detail}")
        return 1
    finally:
        container.close()
        stop_script_workers()
    cutoff = report.cutoff.date().isoformat()
    if report.dry_run:
        print(
            f"dry run: {len(report.purged)} instance(s) finished before {cutoff} would be archived and purged; "
            f"dashboard months to keep first: {', '.join(report.months_kept) or 'none'}"
        )
    else:
        print(
            f"retention: {len(report.purged)} instance(s) finished before {cutoff} archived under "
            f"{settings.retention_archive_dir} and purged in {report.batches} batch(es); "
            f"dashboard months kept: {', '.join(report.months_kept) or 'none'}"
        )
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="phoihop", description="BPMN engine for Hanoi inter-agency coordination")
    sub = root.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="run the HTTP API and the web app (upgrades the schema, deploys the processes, fires timers)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser(
        "upgrade-schema", aliases=["migrate"], help="bring the database schema to head (Alembic; `migrate` is an alias)"
    ).set_defaults(func=cmd_upgrade_schema)
    sub.add_parser("worker", help="fire due timers and send webhooks (several may share PostgreSQL)").set_defaults(
        func=cmd_worker
    )
    deploy = sub.add_parser("deploy", help="deploy BPMN/DMN files or process folders")
    deploy.add_argument("paths", nargs="+")
    deploy.add_argument("--strict", action="store_true", help='refuse on any "6 rõ" finding (PHOIHOP_STRICT_LINT)')
    deploy.add_argument("--change-note", help="what changed (ghi chú thay đổi), kept with each new version")
    deploy.set_defaults(func=cmd_deploy)
    lint = sub.add_parser("lint", help='check process folders or files: validity and the "6 rõ" (no database)')
    lint.add_argument("paths", nargs="+")
    lint.add_argument("--strict", action="store_true", help='"6 rõ" warnings count as errors')
    lint.set_defaults(func=cmd_lint)
    trace = sub.add_parser("trace", help="write docs/traceability.md: articles of Decision 5921 → process elements")
    trace.add_argument("--check", action="store_true", help="exit 1 if the file is out of date or has problems")
    trace.add_argument("--processes", default="processes", help="the process folders (default: processes)")
    trace.add_argument("--articles", default="", help="the article list (default: PROCESSES/articles.toml)")
    trace.add_argument("--output", default="docs/traceability.md")
    trace.set_defaults(func=cmd_trace)
    layout = sub.add_parser("layout", help="regenerate the diagram (BPMN DI) of BPMN files in place")
    layout.add_argument("files", nargs="+")
    layout.add_argument("--check", action="store_true", help="exit 1 if a file's diagram is missing or stale")
    layout.set_defaults(func=cmd_layout)
    token = sub.add_parser("token", help="print a signed bearer token")
    token.add_argument("--sub", required=True)
    token.add_argument("--name", default="")
    token.add_argument("--groups", default="", help="comma-separated agency codes")
    token.add_argument("--roles", default="", help="comma-separated: officer, lead, process-owner, integrator, admin")
    token.add_argument("--ttl-minutes", type=int, default=0)
    token.set_defaults(func=cmd_token)
    apikey = sub.add_parser("apikey", help="manage integrator API keys")
    apikey.add_argument("action", choices=["create", "list", "revoke"])
    apikey.add_argument("--name", default="")
    apikey.add_argument("--roles", default="integrator")
    apikey.add_argument("--groups", default="")
    apikey.set_defaults(func=cmd_apikey)
    sessions = sub.add_parser("sessions", help="web-app sessions: sign a person out everywhere, purge expired ones")
    sessions.add_argument("action", choices=["revoke", "purge"])
    sessions.add_argument("--user", default="", help="revoke: the person's id (the sub they sign in with)")
    sessions.set_defaults(func=cmd_sessions)
    audit = sub.add_parser("audit", help="the tamper-evident audit trail: verify its hash chains")
    audit.add_argument("action", choices=["verify"])
    audit.set_defaults(func=cmd_audit)
    retention = sub.add_parser("retention", help="archive (JSON) and purge instances finished long ago")
    retention.add_argument("action", choices=["run"])
    retention.add_argument("--dry-run", action="store_true", help="say what would be purged; change nothing")
    retention.set_defaults(func=cmd_retention)
    return root


def main(argv: list[str] | None = None) -> int:
    from phoihop.observability import configure_logging

    configure_logging(os.environ.get("PHOIHOP_LOG_FORMAT", "json"))
    # Alembic's INFO lines ("Context impl SQLiteImpl", "Will assume transactional DDL", one per revision) are set-up
    # noise for an operator: the commands say in one line what they did to the schema.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
