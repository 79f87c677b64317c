"""Rasa policy that runs the crisis protocol in the Rasa server itself.

The rules in data/rules/crisis.yml describe the same flow, but rules only
match a well-formed tracker. When the action server is down as a new
conversation starts, the custom `action_session_start` fails and the tracker
has no `action_listen` before the first message, so no rule matches. This
policy needs nothing but the parsed intent: after a `crisis` message it
predicts `utter_crisis` (a domain response), then `action_escalate_crisis`,
then ends any active form and listens. Its priority is above RulePolicy.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_DEACTIVATE_LOOP_NAME, ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.safety.detector import CRISIS_INTENT

CRISIS_RESPONSE = "utter_crisis"
ESCALATION_ACTION = "action_escalate_crisis"


def next_crisis_action(
    latest_intent: str | None, actions_since_user: list[str], loop_active: bool
) -> str | None:
    """The protocol's next step, or None when the protocol has nothing to say."""
    if latest_intent != CRISIS_INTENT:
        return None
    if not actions_since_user:
        return CRISIS_RESPONSE
    last = actions_since_user[-1]
    if last == CRISIS_RESPONSE:
        return ESCALATION_ACTION
    if last == ESCALATION_ACTION:
        return ACTION_DEACTIVATE_LOOP_NAME if loop_active else ACTION_LISTEN_NAME
    if last == ACTION_DEACTIVATE_LOOP_NAME and CRISIS_RESPONSE in actions_since_user:
        return ACTION_LISTEN_NAME
    return None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class CrisisPolicy(Policy):
    """Predicts the crisis protocol's actions with confidence 1.0."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 10}

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        actions: list[str] = []
        intent = None
        for event in reversed(tracker.applied_events()):
            if isinstance(event, UserUttered):
                intent = event.intent_name
                break
            if isinstance(event, ActionExecuted) and event.action_name:
                actions.append(event.action_name)
        actions.reverse()
        action = next_crisis_action(intent, actions, bool(tracker.active_loop_name))
        probabilities = self._default_predictions(domain)
        if action is not None:
            probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities)
