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
from datetime import date, datetime, timedelta
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
from wtforms import EmailField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, Optional, Regexp

from bot.answers.content_store import fill_placeholders
from bot.config import PLACEHOLDER_SECRETS, Settings
from bot.console import accounts, queries
from bot.staff import takeover
from bot.store.db import session_scope
from bot.store.models import utcnow

logger = logging.getLogger(__name__)

PUBLIC_ENDPOINTS = {"login", "static"}
# Endpoints that return data rather than a page: never redirected, always 401.
DATA_ENDPOINTS = {"summary_json", "export_leads", "conversation_json"}
QUEUE_TITLES = {"escalation": "Crisis escalations", "handoff": "Handoffs", "lead": "Leads"}
KIND_TITLES = {"escalation": "Crisis", "handoff": "Handoff", "lead": "Lead"}
INBOX_STATUSES = ("open", *queries.STATUSES, "all")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=500)])


class StatusForm(FlaskForm):
    status = HiddenField(validators=[DataRequired(), AnyOf(queries.STATUSES)])
    note = StringField("Note (optional)", validators=[Optional(), Length(max=500)])


class NoteForm(FlaskForm):
    """A note in the history; the status stays as it is."""

    note = TextAreaField("Note", validators=[DataRequired(), Length(max=500)])


class AssignForm(FlaskForm):
    """ "Take it" / "Release"; `expected` is the assignee id the page showed ("": nobody)."""

    action = HiddenField(validators=[DataRequired(), AnyOf(("take", "release"))])
    expected = HiddenField(validators=[Optional(), Regexp(r"^\d*$")])
    next = HiddenField(validators=[Optional(), Length(max=2000)])


class ReplyForm(FlaskForm):
    """A staff message to the person (the conversation is held while staff write)."""

    text = TextAreaField(
        "Message to the person",
        validators=[DataRequired(), Length(max=takeover.MAX_STAFF_MESSAGE_CHARS)],
    )


class TakeoverForm(FlaskForm):
    """Empty: "Reply" (take over) and "Hand back" are POSTs with a CSRF token."""


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
        banner = None
        baseline: dict[str, Any] = {}
        if g.get("user_email"):
            # The crisis banner heads every page: the count of all open escalations
            # and the newest three. The latest ids are the page's baseline for the
            # "new since you opened this page" count in the tab title.
            with session_scope(settings.database_url) as db:
                banner = queries.crisis_banner(db)
                baseline = {
                    **queries.latest_ids(db),
                    "at": utcnow().isoformat(timespec="seconds"),
                }
        return {
            "banner": banner,
            "baseline": baseline,
            "user_email": g.get("user_email"),
            "user_id": session.get("uid") if g.get("user_email") else None,
            "clinic_name": settings.clinic.name,
            "logout_form": LogoutForm(),
            "local": lambda moment: queries.to_local(moment, tz),
            "age": queries.age_text,
            "waited": queries.wait_text,
            "queue_titles": QUEUE_TITLES,
            "kind_titles": KIND_TITLES,
        }

    @app.template_global()
    def with_args(**changes: Any) -> str:
        """This page's URL with its filters changed (another page, or back to page 1)."""
        args = {key: value for key, value in request.args.items() if key != "page"}
        args |= {key: value for key, value in changes.items() if value not in (None, "")}
        return url_for(request.endpoint or "inbox", **args)

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

    region = settings.phone_default_region

    def contacts_of(db: Any, items: list[Any]) -> dict[str, list[queries.ContactDetail]]:
        ids = {i.conversation_id for i in items}
        return queries.conversation_contacts(db, ids, region=region)

    @app.get("/")
    def overview() -> str:
        with session_scope(settings.database_url) as db:
            handoffs = queries.queue(db, "handoff", status="new", limit=10)
            leads = queries.queue(db, "lead", status="new", limit=10)
            counts = queries.open_counts(db)
            contacts = contacts_of(db, [*handoffs, *leads])
        return render_template(
            "overview.html",
            title="Today",
            handoffs=handoffs,
            leads=leads,
            counts=counts,
            contacts=contacts,
        )

    def page_number() -> int:
        raw = request.args.get("page", "1")
        if not raw.isdigit() or len(raw) > 6:
            abort(400)
        return max(int(raw), 1)

    @app.get("/inbox")
    def inbox() -> str:
        args = request.args
        f = queries.InboxFilter(
            kind=args.get("kind", ""),
            status=args.get("status", "open"),
            channel=args.get("channel", "")[:40],
            assigned=args.get("assigned", ""),
            q=args.get("q", "").strip()[:200],
            order=args.get("order", "waiting"),
        )
        if (
            (f.kind and f.kind not in queries.KINDS)
            or f.status not in INBOX_STATUSES
            or f.assigned not in queries.ASSIGNED_FILTERS
            or f.order not in queries.INBOX_ORDERS
        ):
            abort(400)
        with session_scope(settings.database_url) as db:
            result = queries.inbox(db, f, user_id=session["uid"], page=page_number(), region=region)
            counts = queries.open_counts(db)
            choices = queries.inbox_channels(db)
            conversations = {e.item.conversation_id for e in result.items}
            holds = takeover.holds_of(db, conversations)
        return render_template(
            "inbox.html",
            title="Inbox",
            f=f,
            result=result,
            counts=counts,
            channels=choices,
            statuses=INBOX_STATUSES,
            holds=holds,
            assign_form=AssignForm(formdata=None),
            here=request.full_path.rstrip("?"),
        )

    def queue_page(kind: str) -> str:
        status = request.args.get("status", "open")
        if status not in INBOX_STATUSES:
            abort(400)
        channel = request.args.get("channel", "")[:40]
        per_page = queries.PAGE_SIZE
        with session_scope(settings.database_url) as db:
            total = queries.queue_count(db, kind, status=status, channel=channel)
            pages = max((total + per_page - 1) // per_page, 1)
            page = min(page_number(), pages)
            items = queries.queue(
                db,
                kind,
                status=status,
                channel=channel,
                limit=per_page,
                offset=(page - 1) * per_page,
            )
            choices = queries.channels(db, kind)
            contacts = contacts_of(db, items)
        return render_template(
            "queue.html",
            title=QUEUE_TITLES[kind],
            kind=kind,
            items=items,
            contacts=contacts,
            status=status,
            channel=channel,
            channels=choices,
            statuses=queries.STATUSES,
            total=total,
            page=page,
            pages=pages,
            first=(page - 1) * per_page + 1 if total else 0,
            last=min(page * per_page, total),
            today=date.today().isoformat(),
            month_ago=(date.today() - timedelta(days=30)).isoformat(),
        )

    app.add_url_rule("/escalations", "escalations", lambda: queue_page("escalation"))
    app.add_url_rule("/handoffs", "handoffs", lambda: queue_page("handoff"))
    app.add_url_rule("/leads", "leads", lambda: queue_page("lead"))

    @app.get("/<any(escalation,handoff,lead):kind>/<int:item_id>")
    def item(kind: str, item_id: int) -> str:
        with session_scope(settings.database_url) as db:
            loaded = queries.load_items(db, [(kind, item_id)], region=region)
            if not loaded:
                abort(404)
            trail = queries.audit_trail(db, kind, item_id)
            lines = queries.transcript(db, loaded[0].item.conversation_id)
        return render_template(
            "item.html",
            title=f"{QUEUE_TITLES[kind][:-1]} #{item_id}",
            kind=kind,
            item=loaded[0].item,
            entry=loaded[0],
            trail=trail,
            lines=lines,
            change_label=queries.change_label,
            form=StatusForm(formdata=None),
            note_form=NoteForm(formdata=None),
            assign_form=AssignForm(formdata=None),
            here=request.full_path.rstrip("?"),
        )

    @app.post("/<any(escalation,handoff,lead):kind>/<int:item_id>/note")
    def add_note(kind: str, item_id: int) -> Response:
        form = NoteForm()
        if not form.validate():
            flash("The note is empty or longer than 500 characters.", "error")
            return redirect(url_for("item", kind=kind, item_id=item_id))
        with session_scope(settings.database_url) as db:
            try:
                queries.add_note(
                    db,
                    kind,
                    item_id,
                    form.note.data,
                    user_id=session["uid"],
                    user_email=g.user_email,
                )
            except LookupError:
                abort(404)
        logger.info("%s %s: note by %s", kind, item_id, g.user_email)
        flash("Note added.", "info")
        return redirect(url_for("item", kind=kind, item_id=item_id))

    @app.post("/<any(escalation,handoff,lead):kind>/<int:item_id>/assign")
    def assign(kind: str, item_id: int) -> Response:
        form = AssignForm()
        if not form.validate():
            abort(400)
        take = form.action.data == "take"
        expected = int(form.expected.data) if form.expected.data else None
        back = safe_next(form.next.data or url_for("item", kind=kind, item_id=item_id))
        label = f"{KIND_TITLES[kind]} #{item_id}"
        with session_scope(settings.database_url) as db:
            try:
                change = queries.assign(
                    db,
                    kind,
                    item_id,
                    take=take,
                    user_id=session["uid"],
                    user_email=g.user_email,
                    expected=expected,
                )
            except LookupError:
                abort(404)
            except queries.AssignmentConflict as conflict:
                who = conflict.assignee_email or "nobody"
                flash(f"{label} changed hands meanwhile: it is now with {who}.", "error")
                return redirect(back)
        if change is not None:
            logger.info("%s %s: %s by %s", kind, item_id, change.old_status, g.user_email)
            flash(f"{label}: {'yours now' if take else 'released'}.", "info")
        return redirect(back)

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
            contacts = queries.conversation_contacts(db, {conversation_id}, region=region)
            hold = takeover.hold_of(db, conversation_id)
        if not related and not lines:
            abort(404)
        return render_template(
            "conversation.html",
            title="Conversation",
            conversation_id=conversation_id,
            lines=lines,
            related=related,
            contacts=contacts.get(conversation_id, []),
            hold=hold,
            held_by_me=hold is not None and hold.staff_email == g.user_email,
            reply_form=ReplyForm(formdata=None),
            takeover_form=TakeoverForm(formdata=None),
            can_reply=bool(settings.rasa_api_token),
            reply_max=takeover.MAX_STAFF_MESSAGE_CHARS,
            cursor=lines[-1].event_id if lines else 0,
        )

    @app.get("/api/conversations/<path:conversation_id>.json")
    def conversation_json(conversation_id: str) -> Response:
        """Transcript lines after `after` (an event id) and who holds the conversation:
        the conversation page polls it, so the person's replies appear as they arrive."""
        after = request.args.get("after", "0")
        if not after.isdigit():
            return jsonify({"error": "after must be an event id"}), 400  # type: ignore[return-value]
        with session_scope(settings.database_url) as db:
            lines = queries.transcript(db, conversation_id, after=int(after)) or []
            hold = takeover.hold_of(db, conversation_id)
        return jsonify(
            {
                "lines": [
                    {
                        "event_id": line.event_id,
                        "speaker": line.speaker,
                        "who": line.who,
                        "text": line.text,
                        "at": when(line.at),
                        "kind": line.kind,
                        "intent": line.intent,
                    }
                    for line in lines
                ],
                "cursor": lines[-1].event_id if lines else int(after),
                "held_by": hold.staff_name if hold else None,
                "held_by_me": hold is not None and hold.staff_email == g.user_email,
            }
        )

    def me() -> takeover.StaffMember:
        first = accounts.user_first_name(settings.database_url, session["uid"])
        return takeover.StaffMember(g.user_email, takeover.first_name_of(g.user_email, first))

    def staff_action(conversation_id: str, act: Any, done: str) -> Response:
        """Run a takeover step; staff see what went wrong, nothing is half-said."""
        back = url_for("conversation", conversation_id=conversation_id) + "#reply"
        with session_scope(settings.database_url) as db:
            known = takeover.has_events(db, conversation_id) or queries.related_items(
                db, conversation_id
            )
        if not known:
            abort(404)  # no such conversation: nothing to pause or write to
        try:
            sent = act()
        except takeover.TakeoverError as problem:
            flash(str(problem), "error")
            return redirect(back)
        if sent.opted_out:
            flash(f"{done} This number texted STOP: nothing was sent by SMS.", "error")
        else:
            flash(f"{done}{' Sent by SMS.' if sent.by_sms else ''}", "info")
        return redirect(back)

    @app.post("/conversations/<path:conversation_id>/takeover")
    def take_over(conversation_id: str) -> Response:
        if not TakeoverForm().validate():
            abort(400)
        return staff_action(
            conversation_id,
            lambda: takeover.take_over(settings, conversation_id, me()),
            "You hold this conversation: the assistant is silent until you hand it back.",
        )

    @app.post("/conversations/<path:conversation_id>/reply")
    def reply(conversation_id: str) -> Response:
        form = ReplyForm()
        if not form.validate():
            flash(
                f"Write a message of 1 to {takeover.MAX_STAFF_MESSAGE_CHARS} characters.", "error"
            )
            return redirect(url_for("conversation", conversation_id=conversation_id) + "#reply")
        return staff_action(
            conversation_id,
            lambda: takeover.send(settings, conversation_id, me(), form.text.data),
            "Sent.",
        )

    @app.post("/conversations/<path:conversation_id>/handback")
    def hand_back(conversation_id: str) -> Response:
        if not TakeoverForm().validate():
            abort(400)
        return staff_action(
            conversation_id,
            lambda: takeover.hand_back(settings, conversation_id, me()),
            "Handed back: the assistant answers again.",
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

    def as_sent(text: str) -> str:
        """The answer with this clinic's facts filled in, as the person gets it."""
        try:
            return fill_placeholders(text, settings.clinic)
        except (KeyError, ValueError, IndexError):
            return text

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
            as_sent=as_sent,
            segments=queries.sms_segments,
        )

    @app.get("/api/summary.json")
    def summary_json() -> Response:
        """Open counts, polled by every page (login required, else 401).

        With the page's baseline (`after_escalation`, `after_handoff`, `after_lead`:
        the highest ids when it was rendered; `since`: its UTC time), also the open
        items that arrived since, for the tab title and the browser notification.
        Counts only: nothing about a person leaves in this answer.
        """
        try:
            after = {
                kind: int(request.args.get(f"after_{kind}", "0") or 0) for kind in queries.KINDS
            }
            raw_since = request.args.get("since")
            since = datetime.fromisoformat(raw_since) if raw_since else None
        except ValueError:
            return jsonify({"error": "after_* must be ids and since an ISO time"}), 400
        if since is not None and since.tzinfo is not None:
            return jsonify({"error": "since is naive UTC"}), 400
        with session_scope(settings.database_url) as db:
            counts = queries.open_counts(db)
            oldest = queries.oldest_new(db, "escalation")
            arrived = queries.arrivals(db, after, since) if request.args else None
        body: dict[str, Any] = {
            "open": counts,
            "open_total": sum(sum(c.values()) for c in counts.values()),
            "new_total": sum(c["new"] for c in counts.values()),
            "crisis_open": sum(counts["escalation"].values()),
            "oldest_new_crisis_utc": oldest.isoformat() + "Z" if oldest else None,
        }
        if arrived is not None:
            body["arrived"] = arrived
            body["arrived_total"] = sum(arrived.values())
        return jsonify(body)

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
