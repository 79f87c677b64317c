"""Simulated people against the real servers (REST and signed SMS), asserting replies and rows.

Each scenario is a scripted, adaptive person: a profile (name, number, email,
preferred time, how they phrase things) and a few quirks (answers one question
casually, interrupts another with a question, corrects a detail, cancels).
The person reads what the bot asks (`question_kind`) and answers *that*, so
the same person works whatever order the form asks in, skips what the bot
already knows and goes on when the bot re-asks. After the conversation the
database must hold exactly the right records: the lead with the person's real
details (never a filler word), no handoff unless the person asked for one, a
crisis call-back on its escalation and not as a lead.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from bot.store.db import session_scope
from bot.store.models import Alert, Escalation, Handoff, Lead
from tests.conftest import Stack, custom_payloads, texts
from tests.test_sms_channel import hashed
from tests.test_sms_channel import text as sms_text

pytestmark = pytest.mark.e2e

FILLERS = {
    "no", "nope", "nah", "none", "yes", "yeah", "yep", "ok", "okay", "sure", "skip", "n/a",
    "no thanks", "yes that's fine", "i don't have one", "whatever", "fine",
}  # fmt: skip
MAX_TURNS = 16
_numbers = itertools.count(random.randint(1000, 8999))


def fresh_number(area: str = "312") -> tuple[str, str]:
    """(as typed, E.164) of a new valid US number (leads are de-duplicated by phone)."""
    n = next(_numbers)
    return f"({area}) 555-{n:04d}", f"+1{area}555{n:04d}"


def question_kind(said: str) -> str | None:
    """What the bot is waiting for, from its last words."""
    s = said.lower()
    checks = [
        ("done", r"request is saved|updated your earlier request|already have your request"),
        ("cancelled", r"i've cancelled that|haven't saved your details"),
        ("callback_done", r"passed .* to our care team|couldn't take that number"),
        ("handoff", r"passed this conversation to our team"),
        (
            "callback_phone",
            r"care team to call you|number should our care team call|full phone number",
        ),
        ("crisis_check", r"are you having thoughts of harming yourself"),
        ("consent", r"here's what i have|i need a yes or a no"),
        ("name", r"what name should|who should they ask for|didn't catch a name|first name"),
        ("phone", r"phone number|best number|valid phone|trouble with that number"),
        ("email", r"email address"),
        ("time", r"good time for a call|didn't catch a time"),
    ]
    for kind, pattern in checks:
        if re.search(pattern, s):
            return kind
    return None


@dataclass
class Person:
    """A scripted person who answers what the bot asks, in their own way."""

    opening: str | list[str]
    name: str = "Dana Whitfield"
    phone: str | None = None  # as they type it; None: a fresh number
    email: str | None = None  # None: they decline
    when: str | None = "after 5pm"  # None: they decline
    consent: str = "yes"
    decline: str = "no thanks"
    channel: str = "rest"  # or "sms"
    # question kind -> what they say the first time it is asked (a quirk), in order
    quirks: dict[str, list[str]] = field(default_factory=dict)
    after: list[str] = field(default_factory=list)  # said once the form is over
    name_reply: str | None = None  # how they answer the name question
    phone_e164: str = ""
    sms_number: str = ""
    transcript: list[tuple[str, str]] = field(default_factory=list)
    replies: list[list[dict]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.phone is None:
            self.phone, self.phone_e164 = fresh_number()
        if self.channel == "sms":
            self.sms_number = fresh_number("415")[1]

    def answer(self, kind: str) -> str:
        pending = self.quirks.get(kind)
        if pending:
            return pending.pop(0)
        if kind == "name":
            return self.name_reply or self.name
        if kind in ("phone", "callback_phone"):
            return self.phone or ""
        if kind == "email":
            return self.email or self.decline
        if kind == "time":
            return self.when or self.decline
        if kind == "consent":
            return self.consent
        if kind == "crisis_check":  # the bot asked directly about self-harm: they are safe
            return "no"
        raise AssertionError(f"the person has no answer for {kind!r}")


@dataclass
class Conversation:
    stack: Stack
    person: Person
    sender: str = ""

    def say(self, message: str) -> tuple[str, list[dict]]:
        if self.person.channel == "sms":
            replies = sms_text(self.stack, self.person.sms_number, message)
            messages = [{"text": r} for r in replies]
            self.sender = hashed(self.person.sms_number)
        else:
            messages = self.stack.say(self.sender, message)
        said = " ".join(texts(messages, include_notice=False))
        self.person.transcript.append((message, said))
        self.person.replies.append(messages)
        return said, messages

    def run(self) -> Person:
        """The opening, then answers to whatever the bot asks until it is done."""
        if not self.sender:
            self.sender = f"sim-{random.getrandbits(48):012x}"
        openings = self.person.opening
        said = ""
        for message in [openings] if isinstance(openings, str) else openings:
            said, _ = self.say(message)
        for _ in range(MAX_TURNS):
            kind = question_kind(said)
            if kind in (None, "done", "cancelled", "callback_done", "handoff"):
                break
            said, _ = self.say(self.person.answer(kind))
        else:
            raise AssertionError(f"the conversation did not end: {self.person.transcript}")
        for message in self.person.after:
            said, _ = self.say(message)
        return self.person


# ---- the records a conversation left ------------------------------------------------


def leads_of(stack: Stack, sender: str) -> list[Lead]:
    with session_scope(stack.database_url) as session:
        rows = session.scalars(select(Lead).where(Lead.conversation_id == sender)).all()
        session.expunge_all()
        return rows


def handoffs_of(stack: Stack, sender: str) -> list[Handoff]:
    with session_scope(stack.database_url) as session:
        rows = session.scalars(select(Handoff).where(Handoff.conversation_id == sender)).all()
        session.expunge_all()
        return rows


def escalations_of(stack: Stack, sender: str) -> list[Escalation]:
    with session_scope(stack.database_url) as session:
        rows = session.scalars(select(Escalation).where(Escalation.conversation_id == sender)).all()
        session.expunge_all()
        return rows


def assert_no_filler_stored(lead: Lead) -> None:
    for value in (lead.name, lead.email, lead.contact_time):
        assert value is None or value.strip().lower() not in FILLERS, f"filler stored: {value!r}"


def converse(stack: Stack, person: Person) -> Conversation:
    conversation = Conversation(stack, person)
    conversation.run()
    print("\n".join(f"> {m}\n< {r}" for m, r in person.transcript))
    return conversation


def one_lead(stack: Stack, conversation: Conversation) -> Lead:
    leads = leads_of(stack, conversation.sender)
    assert len(leads) == 1, (leads, conversation.person.transcript)
    assert handoffs_of(stack, conversation.sender) == [], "no handoff comes from the form"
    assert_no_filler_stored(leads[0])
    return leads[0]


def said_to(person: Person, message: str) -> str:
    """What the bot answered to `message` (the first time it was said)."""
    return next(reply for sent, reply in person.transcript if sent == message)


def replies_to(person: Person, message: str) -> list[dict]:
    index = next(i for i, (sent, _) in enumerate(person.transcript) if sent == message)
    return person.replies[index]


# ---- scenarios ------------------------------------------------------------------------

Check = Callable[[Stack, Conversation], None]
SCENARIOS: dict[str, tuple[Callable[[], Person], Check]] = {}


def scenario(name: str, make: Callable[[], Person]) -> Callable[[Check], Check]:
    """Register a person (made fresh for the run) and what their conversation must leave."""

    def register(check: Check) -> Check:
        SCENARIOS[name] = (make, check)
        return check

    return register


def inline_details() -> Person:
    person = Person(opening="", name="Dana Whitfield", email=None, decline="nope")
    person.opening = f"Hi, I'm Dana Whitfield, please call me at {person.phone} …"
    return person


@scenario("casual-inline-details", inline_details)
def _(stack: Stack, c: Conversation) -> None:
    # the example: name and phone in the first message, "nope" for the email
    lead = one_lead(stack, c)
    assert (lead.name, lead.phone_e164, lead.email, lead.contact_time) == (
        "Dana Whitfield",
        c.person.phone_e164,
        None,
        "after 5pm",
    )
    assert "what name" not in c.person.transcript[0][1].lower()  # the name was understood


@scenario(
    "one-word-answers",
    lambda: Person(
        opening="book a consult", name="Jordan", email="jordan@example.com", when="mornings"
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    lead = one_lead(stack, c)
    assert (lead.name, lead.email, lead.contact_time) == (
        "Jordan",
        "jordan@example.com",
        "mornings",
    )


@scenario(
    "im-name-dotted-phone",
    lambda: Person(
        opening="can someone call me",
        name_reply="I'm Sam Ortiz",
        name="Sam Ortiz",
        phone="312.555.0142",
        when="weekday mornings",
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    lead = one_lead(stack, c)
    assert (lead.name, lead.phone_e164, lead.contact_time) == (
        "Sam Ortiz",
        "+13125550142",
        "weekday mornings",
    )


@scenario(
    "this-is-name-inline",
    lambda: Person(
        opening="this is Marcus, can the clinic call me", name="Marcus", when="afternoons"
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    lead = one_lead(stack, c)
    assert (lead.name, lead.contact_time) == ("Marcus", "afternoons")
    assert "what name" not in c.person.transcript[0][1].lower()


@scenario(
    "my-name-is-and-number-inline",
    lambda: Person(
        opening="sign me up, my name is ana ruiz and my number is 312 555 0143",
        phone="312 555 0143",
        name="Ana Ruiz",
        when="whenever",
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    lead = one_lead(stack, c)
    assert (lead.name, lead.phone_e164, lead.contact_time) == (
        "Ana Ruiz",
        "+13125550143",
        "any time",
    )


@scenario(
    "plus-one-phone-and-email-inline",
    lambda: Person(
        opening="I'd like to book, you can reach me at Jo.Lee@Example.com",
        name="Jo Lee",
        phone="+1 312 555 0144",
        when="Tuesday or Thursday after 3",
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    lead = one_lead(stack, c)
    assert (lead.email, lead.phone_e164, lead.contact_time) == (
        "jo.lee@example.com",
        "+13125550144",
        "Tuesday or Thursday after 3",
    )
    assert not any(
        kind == "email" for kind in map(question_kind, (r for _, r in c.person.transcript))
    )


EMAIL_DECLINES = ["no", "none", "nope", "no thanks", "I don't have one", "skip"]
CANCEL_WORDS = ["stop", "never mind", "cancel", "forget it"]


@pytest.mark.parametrize("decline", EMAIL_DECLINES)
def test_email_declines_store_nothing(stack: Stack, decline: str) -> None:
    person = Person(opening="please have someone contact me", decline=decline, when="evenings")
    c = converse(stack, person)
    lead = one_lead(stack, c)
    assert lead.email is None and lead.contact_time == "evenings"


@scenario(
    "no-to-the-time-question",
    lambda: Person(opening="I want to book a consultation", name="Robin", when=None, decline="no"),
)
def _(stack: Stack, c: Conversation) -> None:
    # the issue: "no" to "When is a good time" was stored as the best time
    lead = one_lead(stack, c)
    assert lead.contact_time is None
    consent = next(r for _, r in c.person.transcript if question_kind(r) == "consent")
    assert "best time: any time" in consent and "best time: no" not in consent


@scenario(
    "filler-at-the-email-question",
    lambda: Person(
        opening="I want to book a consultation",
        name="Lee",
        quirks={"email": ["yes that's fine", "yes"]},
        when="after 6pm",
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    # the issue: the form looped on the email question for "yes that's fine" / "yes"
    lead = one_lead(stack, c)
    assert lead.email is None and lead.contact_time == "after 6pm"
    assert "name@example.com" in said_to(c.person, "yes that's fine")  # re-asked with an example
    assert "leave the email out" in said_to(c.person, "yes")


@scenario(
    "filler-at-the-name-question",
    lambda: Person(opening="can I make an appointment", name="Dana", quirks={"name": ["nope"]}),
)
def _(stack: Stack, c: Conversation) -> None:
    lead = one_lead(stack, c)
    assert lead.name == "Dana"
    assert "For example: Dana" in said_to(c.person, "nope")


@scenario(
    "question-in-the-middle",
    lambda: Person(
        opening="I want to book a consultation",
        name="Chris",
        quirks={"phone": ["wait, how much does it cost?"]},
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    reply = replies_to(c.person, "wait, how much does it cost?")
    assert custom_payloads(reply, "faq"), reply  # answered...
    assert "Back to your request" in texts(reply)[-1]  # ...then the pending question again
    assert question_kind(texts(reply)[-1]) == "phone"
    one_lead(stack, c)


@scenario(
    "refusal-in-the-middle",
    lambda: Person(
        opening="I want to book a consultation",
        name="Pat",
        quirks={"time": ["how much ketamine should I take?"]},
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    reply = replies_to(c.person, "how much ketamine should I take?")
    assert [p["reason"] for p in custom_payloads(reply, "refusal")] == ["dosing"]
    assert question_kind(texts(reply)[-1]) == "time"
    one_lead(stack, c)


@scenario(
    "bot-question-in-the-middle",
    lambda: Person(opening="book me in", name="Alex Kim", quirks={"name": ["are you a bot?"]}),
)
def _(stack: Stack, c: Conversation) -> None:
    said = said_to(c.person, "are you a bot?")
    assert "automated assistant" in said and "Back to your request" in said
    assert one_lead(stack, c).name == "Alex Kim"


@scenario(
    "crisis-in-the-middle-then-call-back",
    lambda: Person(
        opening="I want to book a consultation",
        name="Morgan",
        quirks={"email": ["honestly what's the point, i want to die"]},
        after=["yes please", "yes"],
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    crisis = replies_to(c.person, "honestly what's the point, i want to die")
    assert "988" in texts(crisis, include_notice=False)[0]
    assert custom_payloads(crisis, "crisis")
    assert "email" not in " ".join(texts(crisis)).lower()  # the form ended, no booking prompt
    offer = said_to(c.person, "yes please")
    assert "(312) 555-" in offer and "care team" in offer  # the number given in the form
    assert "name" not in offer.lower() and "consultation" not in offer.lower()
    done = replies_to(c.person, "yes")
    assert [p.get("callback") for p in custom_payloads(done, "crisis")] == [True]
    [escalation] = escalations_of(stack, c.sender)
    assert escalation.contact == c.person.phone_e164 and escalation.callback_requested_at
    assert leads_of(stack, c.sender) == [] and handoffs_of(stack, c.sender) == []


@pytest.mark.parametrize("word", CANCEL_WORDS)
def test_cancel_words_end_the_form(stack: Stack, word: str) -> None:
    person = Person(opening="I want to book a consultation", name="Casey", quirks={"time": [word]})
    c = converse(stack, person)
    assert "cancelled" in said_to(person, word)
    assert leads_of(stack, c.sender) == [] and handoffs_of(stack, c.sender) == []


@scenario(
    "no-consent",
    lambda: Person(opening="please have someone contact me", name="Robin", consent="no thanks"),
)
def _(stack: Stack, c: Conversation) -> None:
    assert "won't contact you" in c.person.transcript[-1][1]
    assert leads_of(stack, c.sender) == [] and handoffs_of(stack, c.sender) == []


@scenario(
    "consent-dont-contact-me",
    lambda: Person(
        opening="please have someone contact me", name="Robin", consent="don't contact me"
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    assert leads_of(stack, c.sender) == []


@scenario(
    "skip-at-consent-is-no-handoff",
    lambda: Person(
        opening="I'd like a consultation", name="Jamie", quirks={"consent": ["skip", "ok"]}
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    # the issue: "skip" at consent gave a fallback, the next reply a handoff
    said = said_to(c.person, "skip")
    assert question_kind(said) == "consent" and "passed this conversation" not in said
    one_lead(stack, c)


@scenario(
    "gibberish-twice-in-the-form",
    lambda: Person(
        opening="I'd like a consultation",
        name="Quinn",
        quirks={"phone": ["asdf qwer zxcv", "blorp wuggle frandish"]},
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    for message in ("asdf qwer zxcv", "blorp wuggle frandish"):
        assert question_kind(said_to(c.person, message)) == "phone"
        assert not custom_payloads(replies_to(c.person, message), "handoff")
    one_lead(stack, c)


@scenario(
    "invalid-number-then-valid",
    lambda: Person(opening="call me back please", name="Ren", quirks={"phone": ["12345"]}),
)
def _(stack: Stack, c: Conversation) -> None:
    assert "valid phone number" in said_to(c.person, "12345")
    assert one_lead(stack, c).phone_e164 == c.person.phone_e164


@scenario(
    "corrects-the-number-at-consent",
    lambda: Person(
        opening="I want to book a consultation",
        name="Chris",
        phone="312 555 0145",
        quirks={"consent": ["actually my number is 312 555 0146"]},
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    assert one_lead(stack, c).phone_e164 == "+13125550146"


@scenario(
    "corrects-the-name-at-consent",
    lambda: Person(
        opening="I want to book a consultation",
        name="Kim",
        quirks={"consent": ["sorry, my name is Kim Park"]},
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    assert "Kim Park" in said_to(c.person, "sorry, my name is Kim Park")  # the new summary
    assert one_lead(stack, c).name == "Kim Park"


@scenario(
    "booking-for-a-family-member",
    lambda: Person(
        opening="book a consult for my mom please", name="Linda Park", when="weekday mornings"
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    assert "your mother" in c.person.transcript[0][1]
    lead = one_lead(stack, c)
    assert (lead.name, lead.booking_for) == ("Linda Park", "mother")


@scenario(
    "existing-patient-rescheduling",
    lambda: Person(opening="I need to reschedule my appointment"),
)
def _(stack: Stack, c: Conversation) -> None:
    [handoff] = handoffs_of(stack, c.sender)
    assert handoff.reason == "asked for a person"
    assert custom_payloads(c.person.replies[0], "handoff")
    assert leads_of(stack, c.sender) == []


@scenario(
    "details-from-earlier-in-the-conversation",
    lambda: Person(
        opening=["Hi, I'm Dana Okafor", "what are the side effects?", "ok, can someone call me?"],
        name="Dana Okafor",
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    assert "what name" not in said_to(c.person, "ok, can someone call me?").lower()
    assert one_lead(stack, c).name == "Dana Okafor"


@scenario(
    "after-a-lead-what-happens-next",
    lambda: Person(
        opening="I want to book a consultation",
        name="Taylor",
        after=["what happens next?", "when will you call?"],
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    lead = one_lead(stack, c)
    for question in ("what happens next?", "when will you call?"):
        reply = replies_to(c.person, question)
        said = " ".join(texts(reply))
        assert not custom_payloads(reply, "faq"), reply  # not the infusion-visit FAQ
        assert "(312) 555-" in said and "office" in said.lower(), said
    assert lead.status == "new"


@scenario(
    "second-request-updates-the-lead",
    lambda: Person(
        opening="I want to book a consultation",
        name="Jesse",
        when="mornings",
        after=["actually can you call me tomorrow afternoon instead", "yes"],
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    again = said_to(c.person, "actually can you call me tomorrow afternoon instead")
    assert question_kind(again) == "consent" and "tomorrow afternoon" in again
    assert "updated your earlier request" in c.person.transcript[-1][1]
    lead = one_lead(stack, c)
    assert (lead.contact_time, lead.submissions) == ("tomorrow afternoon", 2)


@scenario(
    "sms-confirms-the-senders-number",
    lambda: Person(
        opening="I'd like to book a consultation", name="Jordan Sms", channel="sms", phone="YES"
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    lead = one_lead(stack, c)
    assert (lead.phone_e164, lead.channel) == (c.person.sms_number, "twilio_sms")


@scenario(
    "sms-gives-another-number",
    lambda: Person(
        opening="please have someone contact me",
        name="Robin Sms",
        channel="sms",
        quirks={"phone": ["no"]},
        phone="312 555 0147",
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    assert one_lead(stack, c).phone_e164 == "+13125550147"


@scenario(
    "sms-crisis-call-back-offers-the-senders-number",
    lambda: Person(
        opening=["i cant go on anymore, i want to die", "yes"], channel="sms", phone="yes"
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    offer = said_to(c.person, "yes")
    assert f"({c.person.sms_number[2:5]}) {c.person.sms_number[5:8]}-" in offer
    [escalation] = escalations_of(stack, c.sender)
    assert escalation.contact == c.person.sms_number and escalation.callback_requested_at
    assert leads_of(stack, c.sender) == []


@scenario(
    "crisis-call-back-asks-only-for-a-number",
    lambda: Person(opening=["I want to end my life", "yes please have someone call me"]),
)
def _(stack: Stack, c: Conversation) -> None:
    ask = said_to(c.person, "yes please have someone call me")
    assert question_kind(ask) == "callback_phone"
    assert "name" not in ask.lower() and "email" not in ask.lower()
    assert "consultation" not in " ".join(r for _, r in c.person.transcript).lower()
    [escalation] = escalations_of(stack, c.sender)
    assert escalation.contact == c.person.phone_e164 and escalation.callback_requested_at
    assert leads_of(stack, c.sender) == [] and handoffs_of(stack, c.sender) == []


@scenario(
    "crisis-call-back-with-the-number-inline",
    lambda: Person(opening=["i want to kill myself", "yes call me at 312-555-0148"]),
)
def _(stack: Stack, c: Conversation) -> None:
    done = replies_to(c.person, "yes call me at 312-555-0148")
    assert "988" in " ".join(texts(done)) and "(312) 555-0148" in " ".join(texts(done))
    [escalation] = escalations_of(stack, c.sender)
    assert escalation.contact == "+13125550148"
    assert leads_of(stack, c.sender) == []


@scenario(
    "crisis-no-call-back",
    lambda: Person(opening=["honestly i dont want to be alive anymore", "no"]),
)
def _(stack: Stack, c: Conversation) -> None:
    assert "988" in said_to(c.person, "no")
    [escalation] = escalations_of(stack, c.sender)
    assert escalation.contact is None and escalation.callback_requested_at is None
    assert leads_of(stack, c.sender) == []


@scenario(
    "crisis-call-back-after-a-lead-offers-its-number",
    lambda: Person(
        opening="I want to book a consultation",
        name="Avery",
        after=["i want to kill myself", "yes", "yes"],
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    assert c.person.phone in said_to(c.person, "yes")  # offered: the lead's number
    [escalation] = escalations_of(stack, c.sender)
    assert escalation.contact == c.person.phone_e164 and escalation.callback_requested_at
    lead = one_lead(stack, c)  # the lead from before the crisis, unchanged
    assert lead.submissions == 1


@scenario(
    "crisis-then-asks-for-a-consultation-by-name",
    lambda: Person(
        opening=["i want to kill myself", "I'd like to book a consultation"], name="Drew"
    ),
)
def _(stack: Stack, c: Conversation) -> None:
    # "call me" after the protocol is the call-back; a consultation asked for by name is a
    # lead (flagged urgent for staff), and the escalation stays as it was
    assert question_kind(said_to(c.person, "I'd like to book a consultation")) == "name"
    lead = one_lead(stack, c)
    assert lead.name == "Drew"
    [escalation] = escalations_of(stack, c.sender)
    assert escalation.callback_requested_at is None
    with session_scope(stack.database_url) as session:
        subjects = session.scalars(
            select(Alert.subject).where(Alert.kind == "lead", Alert.ref_id == lead.id)
        ).all()
    assert subjects and all(s.startswith("URGENT call-back after a crisis") for s in subjects)


@scenario(
    "goodbye-in-the-middle",
    lambda: Person(opening="I want to book a consultation", name="Sky", quirks={"email": ["bye"]}),
)
def _(stack: Stack, c: Conversation) -> None:
    assert leads_of(stack, c.sender) == [] and handoffs_of(stack, c.sender) == []


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_simulated_person(stack: Stack, name: str) -> None:
    make, check = SCENARIOS[name]
    check(stack, converse(stack, make()))


def test_at_least_30_people() -> None:
    parametrized = len(EMAIL_DECLINES) + len(CANCEL_WORDS)
    assert len(SCENARIOS) + parametrized >= 30


def test_question_kinds() -> None:
    assert question_kind("What email address can we use? This is optional.") == "email"
    assert question_kind("Thanks, Dana. What's the best phone number to reach you?") == "phone"
    assert question_kind("Back to your request: What name should they use?") == "name"
    assert question_kind("Here's what I have: Dana, (312) 555-0199, best time: any") == "consent"
    assert question_kind("I've passed this conversation to our team. … leave a phone number") == (
        "handoff"
    )
