"""Command line: `python -m bot <command>` (see `python -m bot --help`)."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from bot.config import get_settings, require_production_ready
from bot.ops.logging_setup import configure_logging


def _content(args: argparse.Namespace) -> int:
    from bot.answers.content_store import build_training_data, check_content, load_content
    from bot.store.db import init_db, session_scope

    settings = get_settings()
    today = date.fromisoformat(args.today) if args.today else date.today()
    items, problems = check_content(
        today=today, max_review_age_days=settings.content_max_review_age_days
    )
    if args.action == "check" or problems:
        for problem in problems:
            print(f"content: {problem}", file=sys.stderr)
        if problems:
            print(f"content check failed: {len(problems)} problem(s)", file=sys.stderr)
            return 1
        approved = sum(item.approved for item in items)
        print(f"content check passed: {len(items)} items, {approved} approved")
        if args.action == "check":
            return 0
    if args.action == "build":
        fresh = build_training_data(items, check_only=args.check)
        if args.check and not fresh:
            print("data/nlu/faq.yml is stale: run `python -m bot content build`", file=sys.stderr)
            return 1
        print("data/nlu/faq.yml is up to date" if fresh else "data/nlu/faq.yml regenerated")
        return 0
    init_db()
    with session_scope() as session:
        counts = load_content(session, items)
    print("content loaded: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


def _db(args: argparse.Namespace) -> int:
    from bot.store.db import init_db

    init_db()
    print("database migrated to the latest revision")
    return 0


def _outbox(args: argparse.Namespace) -> int:
    if args.action == "health":
        from bot.ops.heartbeat import check

        healthy, detail = check(get_settings())
        print(f"outbox worker {'healthy' if healthy else 'UNHEALTHY'}: {detail}")
        return 0 if healthy else 1
    from bot.staff.outbox import run_worker
    from bot.store.db import init_db

    init_db()
    run_worker(get_settings(), once=args.once)
    return 0


def _purge(args: argparse.Namespace) -> int:
    from bot.store.retention import purge

    days = args.older_than if args.older_than is not None else get_settings().retention_days
    if days < 1:
        print("purge: --older-than (or RETENTION_DAYS) must be at least 1 day", file=sys.stderr)
        return 2
    report = purge(days, dry_run=args.dry_run)
    print("\n".join(report.lines()))
    return 0


def _config(args: argparse.Namespace) -> int:
    from bot.config import validate_for_production

    settings = get_settings()
    problems = validate_for_production(settings)
    for problem in problems:
        print(f"config: {problem}", file=sys.stderr)
    if problems:
        return 2
    mode = "production" if settings.is_production else f"{settings.environment} (not checked)"
    print(f"configuration ok: {mode}")
    return 0


# Commands that start long-running services: refused with placeholder secrets in production.
SERVICE_COMMANDS = {("run", None), ("outbox", "work"), ("console", "serve"), ("actions", "serve")}


def _actions(args: argparse.Namespace) -> int:
    from bot.ops.action_server import serve

    return serve(get_settings())


def _run(args: argparse.Namespace) -> int:
    from bot.ops.runner import run_all

    return run_all(get_settings())


def _safety(args: argparse.Namespace) -> int:
    from bot.safety.report import main as safety_report

    return safety_report(model_url=args.model_url, token=get_settings().rasa_api_token)


def _eval(args: argparse.Namespace) -> int:
    from bot.quality.evaluation import main as evaluation

    return evaluation(dev_only=args.dev)


def _bench(args: argparse.Namespace) -> int:
    from bot.quality.benchmark import main as benchmark

    return benchmark(requests_per_sender=args.requests)


def main(argv: list[str] | None = None) -> int:
    configure_logging(get_settings())  # JSON with personal data masked in production
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    content = commands.add_parser("content", help="check, build or load the vetted content")
    content.add_argument("action", choices=["check", "build", "load"])
    content.add_argument("--check", action="store_true", help="build: fail if stale")
    content.add_argument("--today", help="check as of this date (YYYY-MM-DD)")
    content.set_defaults(func=_content)

    db = commands.add_parser("db", help="apply the Alembic migrations (create/upgrade tables)")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(func=_db)

    outbox = commands.add_parser("outbox", help="deliver staff alerts")
    outbox.add_argument("action", choices=["work", "health"])
    outbox.add_argument("--once", action="store_true", help="one delivery pass, then exit")
    outbox.set_defaults(func=_outbox)

    from bot.console.cli import add_parser as add_console_parser

    add_console_parser(commands)

    actions = commands.add_parser(
        "actions", help="the action server (ACTION_HOST:ACTION_PORT, needs ACTION_SERVER_TOKEN)"
    )
    actions.add_argument("action", choices=["serve"])
    actions.set_defaults(func=_actions)

    run = commands.add_parser("run", help="start Rasa, actions, outbox and staff console")
    run.set_defaults(func=_run)

    safety = commands.add_parser("safety", help="crisis detection evaluation")
    safety.add_argument("action", choices=["eval"])
    safety.add_argument(
        "--model-url", help="Rasa server with the API enabled, to include the model"
    )
    safety.set_defaults(func=_safety)

    evaluation = commands.add_parser("eval", help="held-out quality and safety figures")
    evaluation.add_argument(
        "--dev", action="store_true", help="dev sets only, for tuning: the test set is not parsed"
    )
    evaluation.set_defaults(func=_eval)

    bench = commands.add_parser("bench", help="load test against a stock `rasa init` bot")
    bench.add_argument("--requests", type=int, default=20, help="messages per sender")
    bench.set_defaults(func=_bench)

    purge = commands.add_parser("purge", help="delete data older than the retention policy")
    purge.add_argument(
        "--older-than", type=int, metavar="DAYS", help="default: RETENTION_DAYS (365)"
    )
    purge.add_argument("--dry-run", action="store_true", help="only count what would go")
    purge.set_defaults(func=_purge)

    config = commands.add_parser("config", help="check the settings (placeholder secrets)")
    config.add_argument("action", choices=["check"])
    config.set_defaults(func=_config)

    args = parser.parse_args(argv)
    if (args.command, getattr(args, "action", None)) in SERVICE_COMMANDS:
        require_production_ready(get_settings(), process=f"`python -m bot {args.command}`")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
