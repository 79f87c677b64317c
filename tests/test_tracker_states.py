"""The incremental states (bot/store/tracker_states.py) equal Rasa's, prefix by prefix.

Real data: the project's domain and every tracker Rasa generates from its rules,
fed one event at a time (the way a conversation grows), with and without
rule-only turns; plus a rewind, and callers editing what they get.
"""

from __future__ import annotations

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUtteranceReverted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.store import tracker_states

RULE_ONLY = {"slots": ["requested_slot"], "loops": ["consultation_form"]}


def both(domain: Domain, tracker: DialogueStateTracker, **options: object) -> tuple[list, list]:
    expected = tracker_states._original(domain, tracker, **options)
    got = tracker_states.states_for_tracker_history(domain, tracker, **options)
    return expected, got


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"omit_unset_slots": True},
        {"ignore_rule_only_turns": True, "rule_only_data": RULE_ONLY},
        {"ignore_rule_only_turns": True, "rule_only_data": None},
    ],
)
def test_every_prefix_of_every_rule_tracker(domain_and_trackers, options) -> None:  # type: ignore[no-untyped-def]
    domain, trackers = domain_and_trackers
    compared = 0
    for n, generated in enumerate(trackers):
        events = list(generated.events)
        for k in range(1, len(events) + 1):
            tracker = DialogueStateTracker.from_events(f"t{n}", events[:k], domain.slots)
            expected, got = both(domain, tracker, **options)
            assert got == expected, (n, k)
            compared += 1
    assert compared > 200


def test_a_rewind_and_callers_editing_their_copy(domain_and_trackers) -> None:  # type: ignore[no-untyped-def]
    domain, _ = domain_and_trackers
    events = [
        ActionExecuted("action_listen"),
        UserUttered("hi", {"name": "greet", "confidence": 1.0}),
        ActionExecuted("utter_greet"),
        ActionExecuted("action_listen"),
        UserUttered("zzz", {"name": "nlu_fallback", "confidence": 1.0}),
    ]
    tracker = DialogueStateTracker.from_events("rewind", events, domain.slots)
    expected, got = both(domain, tracker)
    assert got == expected
    got[-1].clear()  # a featurizer editing the states it was given
    tracker.update(UserUtteranceReverted())
    tracker.update(ActionExecuted("action_listen"))
    expected, got = both(domain, tracker)
    assert got == expected
