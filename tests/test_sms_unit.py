"""SMS rules without servers: keywords, ids, numbered choices, splitting, opt-out at send time."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.sms_text import (
    choices_text,
    conversation_id,
    keyword,
    normalize_number,
    pick_choice,
    render_turn,
    split_sms,
)
from bot.staff.outbox import SMS_COMPLIANCE, deliver_due, deliver_now, enqueue_sms
from bot.store.models import Alert
from bot.store.sms_contacts import opt_in, opt_out

NUMBER = "+14158675309"


def test_keywords_are_whole_messages_only() -> None:
    for word in ("STOP", "stop", " Stop. ", "STOPALL", "unsubscribe", "cancel", "end", "quit"):
        assert keyword(word) in {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
    assert keyword("start") == "START" and keyword("UNSTOP") == "UNSTOP"
    assert keyword("help") == "HELP" and keyword("Info") == "INFO"
    assert keyword("yes") == "YES"
    for text in ("stop asking", "please stop", "how do I cancel my appointment", "", "1"):
        assert keyword(text) is None


def test_conversation_id_is_a_keyed_hash() -> None:
    first = conversation_id("secret-a", NUMBER)
    assert first == conversation_id("secret-a", NUMBER)
    assert len(first) == 64 and NUMBER not in first and "8675309" not in first
    assert first != conversation_id("secret-b", NUMBER)
    assert first != conversation_id("secret-a", "+14158675300")


def test_numbers_are_normalised_to_e164() -> None:
    assert normalize_number("+14158675309") == NUMBER
    assert normalize_number("(415) 867-5309") == NUMBER
    assert normalize_number("") is None and normalize_number("not a number") is None


def test_buttons_become_numbered_choices() -> None:
    assert choices_text(["Have someone contact me", "Talk to a person"]) == (
        "Reply 1 for Have someone contact me, 2 for Talk to a person."
    )
    choices = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    assert pick_choice("1", choices) == "/affirm"
    assert pick_choice(" 2. ", choices) == "/deny"
    assert pick_choice("3", choices) is None
    assert pick_choice("1", []) is None
    assert pick_choice("1 more question", choices) is None


def test_render_turn_numbers_across_messages_and_remembers_payloads() -> None:
    turn = render_turn(
        [
            {"text": "Hello."},
            {"text": "Pick one.", "buttons": [{"title": "A", "payload": "/a"}]},
            {"text": "Or this.", "buttons": [{"title": "B", "payload": "/b"}]},
            {"custom": {"type": "fallback"}},
        ],
        max_chars=320,
        max_segments=3,
    )
    assert turn.bodies == ["Hello.", "Pick one.\nReply 1 for A.", "Or this.\nReply 2 for B."]
    assert [c["payload"] for c in turn.choices] == ["/a", "/b"]


def sentences(count: int, length: int = 60) -> str:
    return " ".join(f"Sentence {n} " + "x" * (length - 13) + "." for n in range(count))


def test_short_text_is_one_sms() -> None:
    assert split_sms("Short answer.", max_chars=320, max_segments=3) == ["Short answer."]


def test_long_text_splits_at_sentence_boundaries() -> None:
    text = sentences(10)  # about 600 characters
    parts = split_sms(text, max_chars=320, max_segments=3)
    assert len(parts) == 2
    assert all(len(p) <= 320 for p in parts)
    assert all(p.endswith(".") for p in parts)  # no sentence cut in half
    assert " ".join(parts) == text


def test_too_long_is_cut_with_a_link_and_keeps_the_choices() -> None:
    text = sentences(30)  # about 1800 characters: more than 3 SMS
    parts = split_sms(
        text,
        max_chars=320,
        max_segments=3,
        more_url="https://clinic.example.org",
        tail="Reply 1 for Yes.",
    )
    assert len(parts) == 3 and all(len(p) <= 320 for p in parts)
    assert parts[-1].endswith("Full answer: https://clinic.example.org\nReply 1 for Yes.")
    assert parts[-1].split("\n")[0].endswith(".")  # cut after a whole sentence


def test_a_very_long_sentence_is_wrapped_at_words() -> None:
    text = "word " * 100
    parts = split_sms(text, max_chars=160, max_segments=5)
    assert all(len(p) <= 160 for p in parts) and all(not p.endswith("wor") for p in parts)


def test_crisis_line_stays_in_the_first_sms() -> None:
    text = sentences(6) + " Please call or text 988 now. If you are in danger, call 911."
    parts = split_sms(text, max_chars=200, max_segments=3, lead="988")
    assert "988" in parts[0]


def test_crisis_reply_is_moved_before_the_session_notice() -> None:
    crisis = (
        "I'm really glad you told me. You don't have to face it alone. Please call or "
        "text 988 now to reach the Suicide & Crisis Lifeline (free, 24/7). If you are in "
        "immediate danger, call 911. You can also text HOME to 741741 to reach the Crisis "
        "Text Line. If you'd like, someone from our care team can call you back."
    )
    turn = render_turn(
        [
            {"text": "I'm the clinic's automated assistant. Not medical advice."},
            {"text": crisis},
            {"custom": {"type": "crisis"}},
            {"custom": {"type": "crisis", "escalation_id": 1}},
        ],
        max_chars=160,
        max_segments=3,
    )
    assert "988" in turn.bodies[0] and "automated assistant" not in turn.bodies[0]
    assert any("automated assistant" in body for body in turn.bodies[1:])


class RecordingSender:
    name = "patient_sms"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, target: str, subject: str, body: str) -> None:
        self.sent.append((target, body))


def test_opted_out_number_gets_nothing_even_if_already_queued(database) -> None:
    from bot.config import get_settings

    settings = get_settings()
    with database() as session:
        queued = enqueue_sms(session, to=NUMBER, body="queued before STOP", ref_id=1)
        queued_id = queued.id
    assert opt_out(NUMBER, "STOP")
    with database() as session:  # nothing new is queued for an opted-out number...
        assert enqueue_sms(session, to=NUMBER, body="after STOP", ref_id=1) is None
        confirmation = enqueue_sms(
            session, to=NUMBER, body="unsubscribed", ref_id=1, kind=SMS_COMPLIANCE
        )
        confirmation_id = confirmation.id
    sender = RecordingSender()
    senders = {"patient_sms": sender}
    # ...and what was queued before is cancelled at send time, by both paths.
    assert deliver_now(settings, [queued_id, confirmation_id], senders) == 1
    assert sender.sent == [(NUMBER, "unsubscribed")]
    with database() as session:
        assert session.get(Alert, queued_id).status == "cancelled"
    assert opt_in(NUMBER)
    with database() as session:
        later = enqueue_sms(session, to=NUMBER, body="after START", ref_id=1)
        later.next_attempt_at = later.created_at  # due now for the worker
    assert opt_out(NUMBER, "STOP")
    assert deliver_due(settings, senders) == (0, 0)
    with database() as session:
        statuses = [a.status for a in session.scalars(select(Alert).order_by(Alert.id))]
    assert statuses == ["cancelled", "sent", "cancelled"]


def test_a_failed_immediate_send_is_left_for_the_worker(database) -> None:
    from bot.config import get_settings

    class Failing(RecordingSender):
        def send(self, target: str, subject: str, body: str) -> None:
            raise RuntimeError("twilio down")

    settings = get_settings()
    with database() as session:
        ids = [enqueue_sms(session, to=NUMBER, body=b, ref_id=1).id for b in ("one", "two")]
    assert deliver_now(settings, ids, {"patient_sms": Failing()}) == 0
    with database() as session:
        first, second = (session.get(Alert, i) for i in ids)
        assert (first.status, first.attempts, "twilio down" in first.last_error) == (
            "pending",
            1,
            True,
        )
        assert (second.status, second.attempts) == ("pending", 0)  # order kept: not tried
    # claimed rows are never sent twice by the immediate path
    assert deliver_now(settings, ids[:1], {"patient_sms": RecordingSender()}) == 0
