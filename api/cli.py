"""The ``phoihop`` command: serve, migrate, worker, deploy, token, apikey."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import timedelta
from pathlib import Path

from engine.errors import EngineError

from .settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        sys.exit(f"phoihop: configuration error: {exc}")


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .main import create_app

    settings = _settings()
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info", access_log=args.access_log)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from engine.store.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    print(f"database at head: {settings.database_url.split('@')[-1]}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from engine.container import build_engine
    from engine.store.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    container = build_engine(settings.database_url, script_cpu_seconds=settings.script_cpu_seconds)
    print("phoihop worker: firing timers (Ctrl+C to stop)", flush=True)
    try:
        container.scheduler.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        container.close()
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from engine.container import build_engine
    from engine.process_files import deployable_sets
    from engine.store.migrate import upgrade

    from .main import DEPLOYER

    settings = _settings()
    upgrade(settings.database_url)
    container = build_engine(settings.database_url)
    status = 0
    try:
        for path in args.paths:
            for label, files in deployable_sets(Path(path)):
                try:
                    for result in container.service.deploy(DEPLOYER, files):
                        state = "new version" if result.created else "unchanged"
                        print(f"{label}: {result.key} v{result.version} ({state}) {result.content_hash[:12]}")
                except EngineError as exc:
                    status = 1
                    print(f"{label}: {exc.detail}", file=sys.stderr)
                    for problem in exc.fields.get("problems", []):
                        print(f"  - {problem}", file=sys.stderr)
    finally:
        container.close()
    return status


def cmd_token(args: argparse.Namespace) -> int:
    from .security import issue_token

    settings = _settings()
    print(issue_token(settings.secret, sub=args.sub, name=args.name, groups=_csv(args.groups),
                      roles=_csv(args.roles), ttl=timedelta(minutes=args.ttl_minutes or settings.token_ttl_minutes)))
    return 0


def cmd_apikey(args: argparse.Namespace) -> int:
    from engine.api_keys import ApiKeys
    from engine.clock import SystemClock
    from engine.store.database import Database
    from engine.store.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    keys = ApiKeys(db, SystemClock())
    try:
        if args.action == "create":
            print(keys.create(args.name, roles=_csv(args.roles), groups=_csv(args.groups)))
        elif args.action == "list":
            for row in keys.list():
                print(f"{row['name']}\troles={','.join(row['roles'])}\tgroups={','.join(row['groups'])}"
                      f"\trevoked={row['revoked_at'] or '-'}")
        elif not keys.revoke(args.name):
            print(f"no active key named {args.name}", file=sys.stderr)
            return 1
    except EngineError as exc:
        print(exc.detail, file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="phoihop", description="BPMN engine for Hanoi inter-agency coordination")
    sub = root.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API (migrates, deploys processes/, fires timers)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="bring the database schema to head").set_defaults(func=cmd_migrate)
    sub.add_parser("worker", help="fire due timers (several may share PostgreSQL)").set_defaults(func=cmd_worker)
    deploy = sub.add_parser("deploy", help="deploy BPMN/DMN files or process folders")
    deploy.add_argument("paths", nargs="+")
    deploy.set_defaults(func=cmd_deploy)
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
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
