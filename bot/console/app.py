"""The staff console: a small server-rendered Flask app.

Every request except the login page and static files needs a signed-in
staff member: pages redirect to the login page, everything else (JSON, CSV,
form posts) gets 401. Every form carries a CSRF token (Flask-WTF). The signed
session holds the account id and its session version: signing out or changing
the password bumps the version in the database, which ends every session issued
before (a copied cookie included).
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import CSRFProtect, FlaskForm
from flask_wtf.csrf import CSRFError
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, Optional

from bot.config import PLACEHOLDER_SECRETS, Settings
from bot.console import accounts, queries
from bot.store.db import session_scope

logger = logging.getLogger(__name__)

PUBLIC_ENDPOINTS = {"login", "static"}
# Endpoints that return data rather than a page: never redirected, always 401.
DATA_ENDPOINTS = {"summary_json", "export_leads"}
QUEUE_TITLES = {"escalation": "Crisis escalations", "handoff": "Handoffs", "lead": "Leads"}


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=500)])


class StatusForm(FlaskForm):
    status = HiddenField(validators=[DataRequired(), AnyOf(queries.STATUSES)])
    note = StringField("Note (optional)", validators=[Optional(), Length(max=500)])


class LogoutForm(FlaskForm):
    """Empty: logout is a POST so another site cannot sign staff out."""


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=500)])
    new = PasswordField("New password", validators=[DataRequired(), Length(max=500)])
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new", message="The new passwords do not match.")],
    )


def secret_key(settings: Settings) -> str:
    """CONSOLE_SECRET_KEY; refused if a placeholder in production, random in development."""
    key = settings.console_secret_key
    if key and key.lower() not in PLACEHOLDER_SECRETS and len(key) >= 16:
        return key
    if settings.is_production:
        raise SystemExit(
            "CONSOLE_SECRET_KEY is missing, a placeholder or shorter than 16 characters: "
            'set it to a long random value (python -c "import secrets; '
            'print(secrets.token_urlsafe(48))").'
        )
    logger.warning(
        "CONSOLE_SECRET_KEY is not set: using a random key for this process "
        "(development only; sessions end when the console restarts)"
    )
    return secrets.token_urlsafe(48)


def create_app(settings: Settings) -> Flask:
    """The console app for one database and one configuration."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key(settings),
        SESSION_COOKIE_NAME="clinic_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.console_session_hours),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.extensions["clinic_settings"] = settings
    if settings.console_trusted_proxies:
        # Behind N reverse proxies the client address (lockout per address) is the
        # N-th from the right in X-Forwarded-For; without them it is the peer.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.console_trusted_proxies)  # type: ignore[method-assign]
    tz = settings.clinic.timezone

    # Registered before CSRFProtect so a request without a session is refused
    # as unauthenticated before anything else looks at it.
    @app.before_request
    def require_login() -> Response | None:
        g.user_email = None
        user_id = session.get("uid")
        if user_id is not None:
            g.user_email = accounts.session_user_email(
                settings.database_url, user_id, session.get("sv")
            )
            if g.user_email is None:
                session.clear()  # revoked (logout, password change) or account gone
        if request.endpoint in PUBLIC_ENDPOINTS or g.user_email is not None:
            return None
        if request.method == "GET" and request.endpoint not in DATA_ENDPOINTS and wants_html():
            return redirect(url_for("login", next=request.full_path.rstrip("?")))
        return Response("Sign-in required\n", 401, {"Content-Type": "text/plain"})

    CSRFProtect(app)

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
        if request.endpoint != "static":
            # Patient details must not stay in shared browser or proxy caches.
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> tuple[str, int]:
        return render_template("error.html", title="Form expired", message=error.description), 400

    @app.context_processor
    def globals_for_templates() -> dict[str, Any]:
        crises: list[Any] = []
        if g.get("user_email"):
            # Open crisis escalations head every page (a page may override `crises`).
            with session_scope(settings.database_url) as db:
                crises = queries.queue(db, "escalation", status="open", limit=50)
        return {
            "crises": crises,
            "user_email": g.get("user_email"),
            "clinic_name": settings.clinic.name,
            "logout_form": LogoutForm(),
            "local": lambda moment: queries.to_local(moment, tz),
            "age": queries.age_text,
            "queue_titles": QUEUE_TITLES,
        }

    @app.template_filter("when")
    def when(moment: Any) -> str:
        local = queries.to_local(moment, tz)
        return local.strftime("%Y-%m-%d %H:%M %Z") if local else ""

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        form = LoginForm()
        status = 200
        if form.validate_on_submit():
            result = accounts.authenticate(
                settings, form.email.data, form.password.data, request.remote_addr
            )
            if result.ok:
                session.clear()  # a fresh session (and CSRF token) after sign-in
                session.permanent = True
                session["uid"] = result.user_id
                session["sv"] = result.session_version
                logger.info("Staff sign-in: %s", result.email)
                return redirect(safe_next(request.args.get("next")))
            if result.address_locked:
                status = 429
                logger.warning(
                    "Console sign-in refused: too many failures from %s", request.remote_addr
                )
                flash(
                    "Too many failed sign-ins from this address: try again in "
                    f"{settings.console_lockout_minutes} minutes.",
                    "error",
                )
            elif result.locked_until is not None:
                status = 429
                flash(
                    "Too many failed sign-ins: this account is locked for "
                    f"{settings.console_lockout_minutes} minutes.",
                    "error",
                )
            else:
                status = 401
                flash("Wrong email or password.", "error")
        elif request.method == "POST":
            status = 400
        return render_template("login.html", form=form, title="Sign in"), status

    @app.post("/logout")
    def logout() -> Response:
        # Revoked in the database, so a copy of this cookie stops working too.
        accounts.revoke_sessions(settings.database_url, session["uid"])
        logger.info("Staff sign-out: %s (all sessions of the account)", g.user_email)
        session.clear()
        flash("Signed out.", "info")
        return redirect(url_for("login"))

    @app.route("/account/password", methods=["GET", "POST"])
    def change_password() -> Any:
        form = PasswordForm()
        status = 200
        if form.validate_on_submit():
            try:
                version = accounts.change_password(
                    settings, session["uid"], form.current.data, form.new.data
                )
            except accounts.AccountError as exc:
                status = 400
                flash(f"Password not changed: {exc}.", "error")
            else:
                session["sv"] = version  # this session goes on; all others end
                flash("Password changed. Every other session was signed out.", "info")
                return redirect(url_for("overview"))
        elif request.method == "POST":
            status = 400
            for errors in form.errors.values():
                for error in errors:
                    flash(str(error), "error")
        return render_template(
            "password.html",
            form=form,
            title="Change password",
            min_length=accounts.MIN_PASSWORD_LENGTH,
        ), status

    @app.get("/")
    def overview() -> str:
        with session_scope(settings.database_url) as db:
            handoffs = queries.queue(db, "handoff", status="new", limit=10)
            leads = queries.queue(db, "lead", status="new", limit=10)
            counts = queries.open_counts(db)
        return render_template(
            "overview.html",
            title="Today",
            handoffs=handoffs,
            leads=leads,
            counts=counts,
        )

    def queue_page(kind: str) -> str:
        status = request.args.get("status", "open")
        if status not in (*queries.STATUSES, "open", "all"):
            abort(400)
        channel = request.args.get("channel", "")
        with session_scope(settings.database_url) as db:
            items = queries.queue(db, kind, status=status, channel=channel)
            choices = queries.channels(db, kind)
        return render_template(
            "queue.html",
            title=QUEUE_TITLES[kind],
            kind=kind,
            items=items,
            status=status,
            channel=channel,
            channels=choices,
            statuses=queries.STATUSES,
            today=date.today().isoformat(),
            month_ago=(date.today() - timedelta(days=30)).isoformat(),
        )

    app.add_url_rule("/escalations", "escalations", lambda: queue_page("escalation"))
    app.add_url_rule("/handoffs", "handoffs", lambda: queue_page("handoff"))
    app.add_url_rule("/leads", "leads", lambda: queue_page("lead"))

    @app.get("/<any(escalation,handoff,lead):kind>/<int:item_id>")
    def item(kind: str, item_id: int) -> str:
        with session_scope(settings.database_url) as db:
            record = db.get(queries.KINDS[kind], item_id)
            if record is None:
                abort(404)
            trail = queries.audit_trail(db, kind, item_id)
            lines = queries.transcript(db, record.conversation_id)
        return render_template(
            "item.html",
            title=f"{QUEUE_TITLES[kind][:-1]} #{item_id}",
            kind=kind,
            item=record,
            trail=trail,
            lines=lines,
            form=StatusForm(formdata=None),
        )

    @app.post("/<any(escalation,handoff,lead):kind>/<int:item_id>/status")
    def set_status(kind: str, item_id: int) -> Response:
        form = StatusForm()
        if not form.validate():
            abort(400)
        with session_scope(settings.database_url) as db:
            try:
                change = queries.change_status(
                    db,
                    kind,
                    item_id,
                    form.status.data,
                    user_id=session["uid"],
                    user_email=g.user_email,
                    note=(form.note.data or "").strip() or None,
                )
            except LookupError:
                abort(404)
        if change is not None:
            logger.info(
                "%s %s: %s -> %s by %s",
                kind,
                item_id,
                change.old_status,
                change.new_status,
                g.user_email,
            )
            flash(f"Marked {change.new_status}.", "info")
        return redirect(url_for("item", kind=kind, item_id=item_id))

    @app.get("/conversations/<path:conversation_id>")
    def conversation(conversation_id: str) -> str:
        with session_scope(settings.database_url) as db:
            lines = queries.transcript(db, conversation_id)
            related = queries.related_items(db, conversation_id)
        if not related and not lines:
            abort(404)
        return render_template(
            "conversation.html",
            title="Conversation",
            conversation_id=conversation_id,
            lines=lines,
            related=related,
        )

    @app.get("/leads/export.csv")
    def export_leads() -> Response:
        try:
            start = parse_day(request.args.get("from"))
            end = parse_day(request.args.get("to"))
        except ValueError:
            return Response("from/to must be dates (YYYY-MM-DD)\n", 400, mimetype="text/plain")
        if start and end and start > end:
            return Response("from is after to\n", 400, mimetype="text/plain")
        with session_scope(settings.database_url) as db:
            body = queries.leads_csv(db, start, end, tz)
        logger.info("Lead export %s..%s by %s", start, end, g.user_email)
        name = f"leads-{start or 'all'}-to-{end or 'now'}.csv"
        return Response(
            body,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/content")
    def content() -> str:
        with session_scope(settings.database_url) as db:
            rows = queries.content_overview(db, settings.content_max_review_age_days, date.today())
            questions = queries.unanswered_groups(db)
        return render_template(
            "content.html",
            title="Content",
            rows=rows,
            questions=questions,
            max_age=settings.content_max_review_age_days,
            soon=queries.REVIEW_DUE_SOON_DAYS,
        )

    @app.get("/api/summary.json")
    def summary_json() -> Response:
        """Open counts, polled by the pages to say that new items arrived."""
        with session_scope(settings.database_url) as db:
            counts = queries.open_counts(db)
            crises = queries.queue(db, "escalation", status="new")
        oldest = min((c.created_at for c in crises), default=None)
        return jsonify(
            {
                "open": counts,
                "new_total": sum(c["new"] for c in counts.values()),
                "oldest_new_crisis_utc": oldest.isoformat() + "Z" if oldest else None,
            }
        )

    return app


def wants_html() -> bool:
    """A browser navigating (HTML acceptable) rather than a script asking for JSON."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"], "text/html")
    return best == "text/html"


def safe_next(target: str | None) -> str:
    """Only same-site paths after login: no open redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("overview")


def parse_day(raw: str | None) -> date | None:
    return date.fromisoformat(raw) if raw else None
