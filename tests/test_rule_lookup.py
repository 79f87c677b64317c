"""bot/dialogue/rule_lookup.py: the trained RulePolicy's rules, found exactly as Rasa finds them.

The rules the model learned (its rule_policy.json) against the states of every
prefix of every rule tracker, and of long histories made by joining them.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from rasa.core.policies.rule_policy import RulePolicy

from bot.dialogue import rule_lookup

_rasa_possible_keys = RulePolicy._get_possible_keys  # before any install()


@pytest.fixture(scope="module")
def lookups(model_path: Path) -> dict[str, dict[str, str]]:
    with tarfile.open(model_path) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("rule_policy.json"))
        data = json.load(archive.extractfile(member))  # type: ignore[arg-type]
    assert len(data["lookup"]["rules"]) > 50
    return {name: v for name, v in data["lookup"].items() if isinstance(v, dict)}


def test_every_prefix_and_long_histories_get_rasas_keys(lookups, domain_and_trackers) -> None:  # type: ignore[no-untyped-def]
    domain, trackers = domain_and_trackers
    policy = object.__new__(RulePolicy)  # the methods used need no trained state
    histories = []
    for tracker in trackers:
        states = domain.states_for_tracker_history(tracker)
        histories += [states[: n + 1] for n in range(len(states))]
    # Long conversations: one rule's story after another.
    joined = [s for t in trackers[:12] for s in domain.states_for_tracker_history(t)]
    histories += [joined[: n + 1] for n in range(0, len(joined), 3)]
    longest_rule = max(len(json.loads(key)) for key in lookups["rules"])
    assert max(len(h) for h in histories) > 3 * longest_rule
    for lookup in lookups.values():
        found = 0
        for states in histories:
            expected = _rasa_possible_keys(policy, lookup, states)
            assert rule_lookup.possible_keys(policy, lookup, states) == expected
            found += bool(expected)
        assert found or not lookup  # the rules are matched somewhere, not trivially empty


def test_install_puts_it_on_the_rule_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", _rasa_possible_keys)
    rule_lookup.install()
    assert RulePolicy._get_possible_keys is rule_lookup.possible_keys
