"""The dialogue states of a conversation's history, computed once per event, not per prediction.

Rasa's policies ask for the states of the whole session (`Domain.
states_for_tracker_history`) on every prediction: RulePolicy twice per
prediction, a few predictions per turn, each replaying every event and
building a state before every action. On a long conversation that made a
turn cost grow with its length. The states of a history prefix never change
when events are appended, so this keeps, per conversation, the replayed
tracker, the states so far and the bookkeeping of Rasa's loop (the same code,
`_step`), and only replays the new events. Applied events are compared by
identity with the cached prefix (ClinicTrackerStore hands out the same Event
objects every turn); any difference (a rewind, a form's undone loop
execution, a restart, another replica's writes) starts afresh. Callers get
copies: Rasa's featurizers edit the states they are given.

`install()` puts it on Rasa's Domain; bot/store/tracker_store.py calls it, so
only a server using our tracker store runs it (training does not).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

CACHED_CONVERSATIONS = 2000
_original = Domain.states_for_tracker_history


@dataclass
class _Progress:
    """How far one conversation's history has been turned into states."""

    replay: DialogueStateTracker
    events: list[Event] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    last_ml_action: Any = None
    turn_was_hidden: bool = False


_cache: OrderedDict[tuple, _Progress] = OrderedDict()


def _step(
    domain: Domain,
    progress: _Progress,
    tr: DialogueStateTracker,
    hide_rule_turn: bool,
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: dict[str, Any] | None,
) -> None:
    """One iteration of Rasa's loop in `Domain.states_for_tracker_history` (3.6)."""
    states = progress.states
    if ignore_rule_only_turns:
        if not progress.turn_was_hidden:
            progress.last_ml_action = domain._get_prev_action_sub_state(tr)
        if not tr.followup_action and not tr.latest_action_name == tr.active_loop_name:
            progress.turn_was_hidden = hide_rule_turn
        if progress.turn_was_hidden:
            return
    state = domain.get_active_state(tr, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if states:
            domain._substitute_rule_only_user_input(state, states[-1])
        if progress.last_ml_action:
            state[PREVIOUS_ACTION] = progress.last_ml_action
    states.append(domain._clean_state(state))


def _frozen(rule_only_data: dict[str, Any] | None) -> tuple | None:
    """A key for the rule-only data (callers pass a new, equal dict every time)."""
    if rule_only_data is None:
        return None
    return tuple(sorted((k, tuple(v)) for k, v in rule_only_data.items()))


def _copy(state: State) -> State:
    return {key: dict(value) for key, value in state.items()}  # type: ignore[misc]


def states_for_tracker_history(
    self: Domain,
    tracker: DialogueStateTracker,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """Same result as Rasa's, from the cached states of the history's prefix."""
    applied = tracker.applied_events()
    key = (
        tracker.sender_id,
        id(self),
        omit_unset_slots,
        ignore_rule_only_turns,
        _frozen(rule_only_data) if ignore_rule_only_turns else None,
    )
    progress = _cache.pop(key, None)
    if (
        progress is None
        or len(progress.events) > len(applied)
        or any(a is not b for a, b in zip(progress.events, applied, strict=False))
    ):
        progress = _Progress(replay=tracker.init_copy())
    args = (omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    for event in applied[len(progress.events) :]:
        if isinstance(event, ActionExecuted):
            _step(self, progress, progress.replay, event.hide_rule_turn, *args)
        progress.replay.update(event)
        progress.events.append(event)
    _cache[key] = progress
    while len(_cache) > CACHED_CONVERSATIONS:
        _cache.popitem(last=False)
    # The state after the last event is the caller's alone: computed on a scratch copy.
    final = _Progress(
        replay=progress.replay,
        states=progress.states[-1:],  # the step reads the previous state
        last_ml_action=progress.last_ml_action,
        turn_was_hidden=progress.turn_was_hidden,
    )
    known = len(final.states)
    _step(self, final, progress.replay, False, *args)
    return [_copy(s) for s in (*progress.states, *final.states[known:])]


def install() -> None:
    """Use the incremental version for every Domain in this process (idempotent)."""
    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]
