"""Contact details the way people type them (bot/staff/contact_details.py)."""

from __future__ import annotations

import pytest

from bot.staff.contact_details import (
    asks_what_next,
    find_contact_time,
    find_email,
    find_name,
    find_phone,
    is_cancel,
    is_decline,
    is_filler,
    relation,
    yes_or_no,
)

FILLERS = ["nope", "no", "yes", "yes that's fine", "ok", "sure", "skip", "none", "nah", "idk"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hi, I'm Dana Whitfield, please call me at (312) 555-0199", "Dana Whitfield"),
        ("my name is ana ruiz and my number is 415 867 5309", "Ana Ruiz"),
        ("this is Marcus, can someone call me", "Marcus"),
        ("call me Dana", "Dana"),
        ("her name is Linda Park", "Linda Park"),
        ("I'd like to book, I'm Jo", "Jo"),
        ("my name's dana mcdonald", "Dana McDonald"),
        ("I'm interested in booking", None),
        ("im so tired of this", None),
        ("this is urgent", None),
        ("call me after 5pm", None),
        ("please call me back", None),
    ],
)
def test_names_with_a_cue_anywhere(text: str, name: str | None) -> None:
    assert find_name(text) == name


@pytest.mark.parametrize(
    ("reply", "name"),
    [
        ("Dana", "Dana"),
        ("dana whitfield", "Dana Whitfield"),
        ("I'm Dana", "Dana"),
        ("im dana", "Dana"),
        ("it's Sam", "Sam"),
        ("Dana, 312 555 0199", "Dana"),
        ("DeShawn O'Neil", "DeShawn O'Neil"),
        ("josé garcía", "José García"),
        ("how much does it cost?", None),
        ("tell me a joke", None),
        ("is ketamine kosher", None),
        *[(filler, None) for filler in FILLERS],
    ],
)
def test_names_as_the_reply_to_the_name_question(reply: str, name: str | None) -> None:
    assert find_name(reply, asked=True) == name


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("(312) 555-0199", "+13125550199"),
        ("312.555.0199", "+13125550199"),
        ("3125550199", "+13125550199"),
        ("+1 312 555 0199", "+13125550199"),
        ("call me at 312 555 0199 after 5", "+13125550199"),
        ("not 312 555 0101, it's 312-555-0199", "+13125550199"),
        ("+44 20 7946 0958", "+442079460958"),
        ("12345", None),
        ("call me maybe", None),
    ],
)
def test_phones_in_any_common_format(text: str, phone: str | None) -> None:
    assert find_phone(text, "US") == phone


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("after 5pm", "after 5pm"),
        ("afternoons", "afternoons"),
        ("weekday mornings", "weekday mornings"),
        ("whenever", "any time"),
        ("any time", "any time"),
        ("doesn't matter", "any time"),
        ("tomorrow at 3", "tomorrow at 3"),
        ("Tuesday or Thursday after 3", "Tuesday or Thursday after 3"),
        ("evenings after 6", "evenings after 6"),
        ("between 2 and 4", "between 2 and 4"),
        ("asap", "as soon as possible"),
        ("call me after 5pm pls 773 555 0148", "after 5pm"),
        ("the 48th", None),
        ("I'm 45", None),
        *[(filler, None) for filler in FILLERS],
    ],
)
def test_preferred_times(text: str, when: str | None) -> None:
    assert find_contact_time(text) == when


@pytest.mark.parametrize(
    "text",
    [
        "no",
        "none",
        "nope",
        "no thanks",
        "I don't have one",
        "skip",
        "no email",
        "n/a",
        "nah, thanks",
    ],
)
def test_natural_declines(text: str) -> None:
    assert is_decline(text)


@pytest.mark.parametrize("text", ["yes", "yes that's fine", "sure", "dana@example.com", "after 5"])
def test_not_declines(text: str) -> None:
    assert not is_decline(text)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yes", True),
        ("yep", True),
        ("sure, why not", True),
        ("yes that's fine", True),
        ("ok", True),
        ("go ahead", True),
        ("no problem", True),
        ("no", False),
        ("nope, don't", False),
        ("don't contact me", False),
        ("no you may not", False),
        ("skip", None),
        ("what do you mean", None),
    ],
)
def test_consent_yes_no_variants(text: str, answer: bool | None) -> None:
    assert yes_or_no(text) is answer


@pytest.mark.parametrize(
    "text",
    ["cancel", "stop", "never mind", "nvm", "ok never mind", "forget it", "nevermind, cancel"],
)
def test_cancel(text: str) -> None:
    assert is_cancel(text)


@pytest.mark.parametrize("text", ["I can't stop crying", "no", "cancel my appointment on friday?"])
def test_not_cancel(text: str) -> None:
    assert not is_cancel(text)


@pytest.mark.parametrize(
    "text",
    ["what happens next?", "when will you call?", "so what's next", "how long until I hear back"],
)
def test_what_next(text: str) -> None:
    assert asks_what_next(text)


@pytest.mark.parametrize("text", ["what happens during an infusion?", "what happens at a session"])
def test_not_what_next(text: str) -> None:
    assert not asks_what_next(text)


def test_email_relation_and_fillers() -> None:
    assert find_email("it's Dana.W@Example.org.") == "dana.w@example.org"
    assert relation("book a consult for my mom please") == "mother"
    assert relation("my husband wants to try it") == "husband"
    assert relation("I want to book") is None
    assert all(is_filler(f) for f in FILLERS)
    assert not is_filler("Dana")
