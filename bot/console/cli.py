"""`python -m bot console serve|create-user`: run the console, manage staff accounts."""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.config import get_settings


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register the `console` command on the main CLI."""
    console = commands.add_parser("console", help="staff console: serve it, create accounts")
    actions = console.add_subparsers(dest="action", required=True)
    serve = actions.add_parser("serve", help="serve the console on CONSOLE_PORT")
    serve.set_defaults(func=_serve)
    create = actions.add_parser("create-user", help="create a staff account")
    create.add_argument("email")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.add_argument(
        "--update",
        action="store_true",
        help="reset the password if the account exists (lifts a lockout, signs out its sessions)",
    )
    create.add_argument(
        "--first-name",
        help="the name patients see on this person's messages (default: from the email)",
    )
    create.set_defaults(func=_create_user)


def _serve(args: argparse.Namespace) -> int:
    from bot.console.server import serve

    return serve(get_settings())


def _read_password(from_stdin: bool) -> str:
    """From stdin (scripts) or prompted twice without echo (people)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        raise SystemExit("The passwords do not match.")
    return password


def _create_user(args: argparse.Namespace) -> int:
    from bot.console.accounts import AccountError, create_user
    from bot.store.db import init_db

    settings = get_settings()
    password = _read_password(args.password_stdin)
    init_db(settings.database_url)
    try:
        user_id = create_user(
            settings.database_url,
            args.email,
            password,
            update=args.update,
            min_score=settings.console_min_password_score,
            first_name=args.first_name,
        )
    except AccountError as exc:
        print(f"create-user: {exc}", file=sys.stderr)
        return 1
    print(f"staff account {args.email.strip().lower()} ready (id {user_id})")
    return 0
