"""The Twilio SMS channel end to end: signed webhooks in, SMS out through a fake Twilio API.

Requests are signed with the `twilio` library's RequestValidator against the
public URL the stack is configured with (SMS_PUBLIC_URL), exactly as Twilio
signs them; replies are recorded by tests.fakes.FakeTwilio.
"""

from __future__ import annotations

import itertools
import random
import time

import pytest
import requests
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.channels.sms_text import conversation_id
from bot.store.db import session_scope
from bot.store.models import Alert, Escalation, Lead, SmsContact, SmsOptOut
from tests.conftest import API_TOKEN, SMS_ENV, Stack

pytestmark = pytest.mark.e2e

PUBLIC_URL = SMS_ENV["SMS_PUBLIC_URL"]
_numbers = itertools.count(random.randint(6000, 6900))


def new_number() -> str:
    """A fresh valid US number per test (leads are de-duplicated by phone)."""
    return f"+1415867{next(_numbers):04d}"


def hashed(number: str) -> str:
    return conversation_id(SMS_ENV["SMS_ID_SECRET"], number)


def form(number: str, body: str, media: int = 0) -> dict[str, str]:
    params = {
        "MessageSid": f"SM{random.getrandbits(128):032x}",
        "AccountSid": SMS_ENV["TWILIO_ACCOUNT_SID"],
        "From": number,
        "To": SMS_ENV["TWILIO_FROM_NUMBER"],
        "Body": body,
        "NumMedia": str(media),
    }
    for n in range(media):
        params[f"MediaUrl{n}"] = f"https://api.twilio.com/media/ME{n}"
        params[f"MediaContentType{n}"] = "image/jpeg"
    return params


def post(
    stack: Stack,
    params: dict[str, str],
    *,
    token: str = SMS_ENV["TWILIO_AUTH_TOKEN"],
    url: str = PUBLIC_URL,
    signature: str | None = None,
) -> requests.Response:
    """POST to the webhook as Twilio would, signed for `url` with `token`."""
    if signature is None:
        signature = RequestValidator(token).compute_signature(url, params)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return requests.post(
        f"{stack.rasa_url}/webhooks/twilio_sms/webhook", data=params, headers=headers, timeout=30
    )


def pending_for(stack: Stack, number: str) -> int:
    with session_scope(stack.database_url) as session:
        rows = session.scalars(
            select(Alert).where(Alert.target == number, Alert.status == "pending")
        ).all()
        return len(rows)


def text(stack: Stack, number: str, body: str, media: int = 0, timeout: float = 90.0) -> list[str]:
    """Send one signed SMS and return the SMS the person receives in reply.

    All SMS of a reply are committed together before the first is sent, so
    "at least one new SMS and none pending" means the reply is complete.
    """
    assert stack.twilio is not None
    before = len(stack.twilio.to(number))
    response = post(stack, form(number, body, media))
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        received = stack.twilio.to(number)
        if len(received) > before and pending_for(stack, number) == 0:
            return received[before:]
        time.sleep(0.2)
    raise AssertionError(f"no reply to {body!r}")


def tracker_texts(stack: Stack, number: str) -> list[str]:
    response = requests.get(
        f"{stack.rasa_url}/conversations/{hashed(number)}/tracker",
        params={"token": API_TOKEN},
        timeout=30,
    )
    response.raise_for_status()
    return [e.get("text") or "" for e in response.json()["events"] if e["event"] == "user"]


def stored_contact(stack: Stack, number: str) -> SmsContact | None:
    with session_scope(stack.database_url) as session:
        return session.scalars(
            select(SmsContact).where(SmsContact.conversation_id == hashed(number))
        ).first()


# --- signatures -------------------------------------------------------------


def test_valid_signature_gets_empty_twiml_and_a_reply(stack: Stack) -> None:
    number = new_number()
    response = post(stack, form(number, "HELP"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response/>" in response.text
    contact = stored_contact(stack, number)
    assert contact is not None and contact.phone_e164 == number


@pytest.mark.parametrize(
    "case",
    ["missing", "wrong token", "signed for another url", "tampered body", "garbage"],
)
def test_unsigned_or_wrongly_signed_requests_are_rejected(stack: Stack, case: str) -> None:
    number = new_number()
    params = form(number, "what are the side effects of ketamine")
    if case == "missing":
        response = post(stack, params, signature="")
    elif case == "wrong token":
        response = post(stack, params, token="not-the-auth-token")
    elif case == "signed for another url":  # e.g. the internal address, not the public one
        response = post(stack, params, url=f"{stack.rasa_url}/webhooks/twilio_sms/webhook")
    elif case == "tampered body":
        signature = RequestValidator(SMS_ENV["TWILIO_AUTH_TOKEN"]).compute_signature(
            PUBLIC_URL, params
        )
        response = post(stack, {**params, "Body": "STOP"}, signature=signature)
    else:
        response = post(stack, params, signature="bm90IGEgc2lnbmF0dXJl")
    assert response.status_code == 403
    # not processed, not stored
    assert stored_contact(stack, number) is None
    assert tracker_texts(stack, number) == []
    with session_scope(stack.database_url) as session:
        assert session.get(SmsOptOut, number) is None
        assert not session.scalars(select(Alert).where(Alert.target == number)).all()


# --- compliance keywords ----------------------------------------------------


def test_help(stack: Stack) -> None:
    [reply] = text(stack, new_number(), "help")
    for part in (
        "Test Valley Ketamine Clinic",
        "(555) 010-0199",
        "Msg & data rates may apply",
        "Reply STOP to opt out",
    ):
        assert part in reply


def test_stop_then_a_question_sends_nothing_until_start(stack: Stack) -> None:
    number = new_number()
    assert text(stack, number, "what are the side effects of ketamine")
    [confirmation] = text(stack, number, "STOP")
    assert "unsubscribed" in confirmation and "START" in confirmation
    sent_after_stop = len(stack.twilio.to(number))
    response = post(stack, form(number, "how much does an infusion cost"))
    assert response.status_code == 200 and "<Response/>" in response.text
    # the bot never saw it, and a second STOP is not confirmed again
    assert "how much does an infusion cost" not in tracker_texts(stack, number)
    assert post(stack, form(number, "stop")).status_code == 200
    with session_scope(stack.database_url) as session:
        assert session.get(SmsOptOut, number) is not None
    # START is the barrier: everything between STOP and START was nothing
    [welcome] = text(stack, number, "START")
    assert "subscribed again" in welcome
    assert stack.twilio.to(number)[sent_after_stop - 1 :] == [confirmation, welcome]
    with session_scope(stack.database_url) as session:
        assert session.get(SmsOptOut, number) is None
    # after START the bot answers again
    assert any("General info" in m for m in text(stack, number, "is ketamine addictive"))


def test_yes_resubscribes_an_opted_out_number(stack: Stack) -> None:
    number = new_number()
    text(stack, number, "UNSUBSCRIBE")
    [welcome] = text(stack, number, "yes")
    assert "subscribed again" in welcome


def test_a_picture_gets_a_text_only_reply(stack: Stack) -> None:
    [reply] = text(stack, new_number(), "", media=1)
    assert "only read text" in reply


def test_a_failed_send_is_retried_by_the_outbox(stack: Stack) -> None:
    stack.twilio.fail_next(1)
    [reply] = text(stack, new_number(), "HELP")
    assert "Reply STOP to opt out" in reply


# --- conversations ----------------------------------------------------------


def test_faq_answer(stack: Stack) -> None:
    number = new_number()
    replies = text(stack, number, "what are the side effects of ketamine?")
    print("FAQ:", replies)
    assert any("Side effects are common" in r and "General info" in r for r in replies)
    assert all(len(r) <= 320 for r in replies)
    assert number not in str(tracker_texts(stack, number))


def test_numbered_choice_picks_the_button(stack: Stack) -> None:
    number = new_number()
    # "/nlu_fallback" forces the fallback turn whatever the NLU model makes of gibberish
    fallback = " ".join(text(stack, number, "/nlu_fallback"))
    assert "Reply 1 for Have someone contact me, 2 for Talk to a person." in fallback
    picked = " ".join(text(stack, number, "1"))
    assert "What name should they use?" in picked
    assert "type 'cancel'" not in picked  # on SMS a lone CANCEL would opt out
    assert "/request_consultation" in tracker_texts(stack, number)


def test_the_booking_answers_call_back_button_is_choice_1(stack: Stack) -> None:
    """The button of the booking item's `buttons:` field, as a numbered choice."""
    number = new_number()
    answer = " ".join(text(stack, number, "what happens at the first consultation"))
    assert "consultation" in answer and answer.endswith("Reply 1 for Request a call-back."), answer
    picked = " ".join(text(stack, number, "1"))
    assert "What name should they use?" in picked
    assert "/request_consultation" in tracker_texts(stack, number)


def test_crisis_resources_are_in_the_first_sms_and_a_long_reply_is_split(stack: Stack) -> None:
    number = new_number()
    replies = text(stack, number, "i want to kill myself")
    print("CRISIS:", replies)
    assert "988" in replies[0] and "Crisis" in replies[0]
    assert all(len(r) <= 320 for r in replies)
    # the crisis reply (about 350 characters) comes as two SMS, cut after a sentence,
    # before the session-start notice
    assert "741741" in replies[0] and replies[0].endswith("."), replies
    assert "care team can call you back" in replies[1], replies
    assert "automated assistant" in replies[2], replies
    with session_scope(stack.database_url) as session:
        [escalation] = session.scalars(
            select(Escalation).where(Escalation.conversation_id == hashed(number))
        ).all()
        # staff get the number to call back; the tracker only has the keyed hash
        assert (escalation.channel, escalation.contact) == ("twilio_sms", number)


def test_lead_by_sms_confirms_the_senders_number(stack: Stack) -> None:
    number = new_number()
    pretty = f"(415) 867-{number[-4:]}"
    transcript = []

    def say(body: str) -> str:
        replies = text(stack, number, body)
        transcript.append((body, replies))
        return " ".join(replies)

    assert "What name" in say("I'd like to book a consultation")
    ask = say("Jordan Sms")
    assert f"Is {pretty} the best number to reach you? Reply YES or send another number." in ask
    assert "email" in say("YES").lower()
    assert "good time" in say("1")  # 1 = Skip
    consent = say("1")  # 1 = Any time
    assert pretty in consent and "Reply 1 for Yes, contact me, 2 for No." in consent
    done = say("1")  # 1 = Yes, contact me
    print("LEAD:", transcript)
    assert "saved" in done
    with session_scope(stack.database_url) as session:
        [lead] = session.scalars(select(Lead).where(Lead.conversation_id == hashed(number))).all()
        assert (lead.name, lead.phone_e164, lead.channel, lead.consent) == (
            "Jordan Sms",
            number,
            "twilio_sms",
            True,
        )


def test_another_number_can_be_given_instead(stack: Stack) -> None:
    number = new_number()
    text(stack, number, "please have someone contact me")
    text(stack, number, "Robin Sms")
    assert "email" in " ".join(text(stack, number, "call me at 415 867 5399")).lower()
    text(stack, number, "1")
    consent = " ".join(text(stack, number, "evenings"))
    assert "(415) 867-5399" in consent
