"""Parsing contact details, and the lead/handoff records with their alerts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.staff.leads import (
    LeadDetails,
    RateLimited,
    clean_name,
    find_email,
    find_name,
    find_phone,
    parse_phone,
    save_lead,
)
from bot.store.models import Alert, Lead


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(415) 867-5309", "+14158675309"),
        ("415.867.5309", "+14158675309"),
        ("+1 415 867 5309", "+14158675309"),
        ("+44 20 7946 0958", "+442079460958"),
        ("12345", None),
        ("555-0100", None),
        ("call me maybe", None),
        ("", None),
    ],
)
def test_parse_phone(raw: str, expected: str | None) -> None:
    assert parse_phone(raw, "US") == expected


def test_find_details_inline() -> None:
    text = "sign me up, my name is ana ruiz and my number is 415 867 5309, ana@example.org"
    assert find_phone(text, "US") == "+14158675309"
    assert find_email(text) == "ana@example.org"
    assert find_name(text) == "Ana Ruiz"
    assert find_name("I want to book") is None


@pytest.mark.parametrize("bad", ["", "12345", "!!!", "x" * 81])
def test_clean_name_rejects_non_names(bad: str) -> None:
    assert clean_name(bad) is None


def test_duplicate_updates_and_flood_is_limited(database, settings_with_webhook) -> None:
    details = LeadDetails("Kim", "+14158675309", None, "mornings")
    first, updated = save_lead(
        settings_with_webhook, conversation_id="c1", channel="rest", details=details
    )
    assert not updated
    second, updated = save_lead(
        settings_with_webhook,
        conversation_id="c2",
        channel="rest",
        details=LeadDetails("Kim Park", "+14158675309", "kim@example.org", None),
    )
    assert updated and second == first
    with database() as session:
        [lead] = session.scalars(select(Lead)).all()
        assert (lead.name, lead.email, lead.contact_time, lead.submissions) == (
            "Kim Park",
            "kim@example.org",
            "mornings",
            2,
        )
        assert len(session.scalars(select(Alert).where(Alert.kind == "lead")).all()) == 2
    for n in range(3):
        save_lead(
            settings_with_webhook,
            conversation_id="flood",
            channel="rest",
            details=LeadDetails("F", f"+1415867530{n}", None, None),
        )
    with pytest.raises(RateLimited):
        save_lead(
            settings_with_webhook,
            conversation_id="flood",
            channel="rest",
            details=LeadDetails("F", "+14158675308", None, None),
        )
