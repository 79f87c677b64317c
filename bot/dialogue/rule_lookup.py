"""RulePolicy's rule matching without walking the whole conversation every prediction.

`RulePolicy._get_possible_keys` filters its rules against the conversation's
states from the last one backwards, and goes on to the very first state of
the session, although a rule only ever constrains as many states as it has
(`_is_rule_applicable` is True for every rule once the index passes the
rule's length). Every prediction of a turn, twice each, so a turn's cost grew
with the conversation. This stops as soon as the index passes the longest
rule (5 states here, against 60 in a 20-message conversation), or as soon as
no rule is left: the same keys, exactly.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.domain import State

# id(lookup) -> (the lookup itself, so that its id is never reused; its size; longest rule)
_longest: dict[int, tuple[dict[str, Any], int, int]] = {}


def _longest_rule(lookup: dict[str, Any]) -> int:
    """The number of states of the longest rule in `lookup` (remembered per lookup)."""
    known = _longest.get(id(lookup))
    if known is None or known[0] is not lookup or known[1] != len(lookup):
        longest = max((len(json.loads(key)) for key in lookup), default=0)
        known = _longest[id(lookup)] = (lookup, len(lookup), longest)
    return known[2]


def possible_keys(policy: RulePolicy, lookup: dict[str, Any], states: list[State]) -> set[str]:
    """Rasa's `_get_possible_keys`, stopping once no later state can rule a key out."""
    keys = set(lookup.keys())
    longest = _longest_rule(lookup)
    for i, state in enumerate(reversed(states)):
        if i >= longest or not keys:
            break
        keys = {key for key in keys if policy._is_rule_applicable(key, i, state)}
    return keys


def install() -> None:
    """Use it in every RulePolicy of this process (the Rasa server; training keeps Rasa's)."""
    RulePolicy._get_possible_keys = possible_keys  # type: ignore[method-assign]
