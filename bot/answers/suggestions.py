""" "Did you mean…?": likely content items offered as choices when the NLU is not sure.

The ContentSelector (bot/nlu/content_selector.py) turns an FAQ question whose
best item is likely but not certain into the intent `faq_uncertain`, keeping
its ranking. The NLG (bot/answers/nlg.py) then renders `utter_faq_suggestions`
from here: the two or three most likely approved items as buttons with their
titles (numbered choices on SMS), plus "None of these". A button sends
`/faq_choose{"content_id": …}`, which `utter_faq_chosen` answers. Each offer
is kept with the unanswered questions (`kind = "suggestions"`, the ids
offered and the one chosen, or none), so content authors see which questions
people ask in words the model does not know yet.

An answer that is likely but not certain carries the runner-up items too
(`faq_related`, set by the ContentSelector): `related_choices` turns them into
buttons under the answer ("Not quite what you asked?"), answered the same way;
a pick from them is kept too (`record_unanswered`, `kind = "related"`): that
answer had missed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from bot.answers.content_store import current_item
from bot.store.db import session_scope
from bot.store.models import ContentItem, UnansweredQuestion

SUGGEST_RESPONSE = "utter_faq_suggestions"
CHOSEN_RESPONSE = "utter_faq_chosen"

CHOOSE_INTENT = "faq_choose"
CONTENT_ENTITY = "content_id"
NONE_CHOICE = "none"
MAX_OPTIONS = 3
MIN_OPTION_CONFIDENCE = 0.05
PROMPT = "I want to be sure I answer the right question. Did you mean one of these?"
NONE_TITLE = "None of these"
RELATED_PROMPT = "Not quite what you asked? You can pick one of these instead."


@dataclass(frozen=True)
class Offer:
    text: str
    buttons: list[dict]
    payload: dict


def ranked_content_ids(parse: dict, retrieval_intent: str = "faq") -> list[str]:
    """The content ids worth offering, best first, from the ContentSelector's ranking."""
    ranking = ((parse.get("response_selector") or {}).get(retrieval_intent) or {}).get("ranking")
    ids = []
    for entry in ranking or []:
        key = entry.get("intent_response_key") or ""
        if key.startswith(f"{retrieval_intent}/") and (
            not ids or float(entry.get("confidence") or 0.0) >= MIN_OPTION_CONFIDENCE
        ):
            ids.append(key.split("/", 1)[1])
    return ids[:MAX_OPTIONS]


def chosen_content_id(parse: dict) -> str | None:
    """The content id a `faq_choose` message picked (NONE_CHOICE for "None of these")."""
    for entity in parse.get("entities") or []:
        if entity.get("entity") == CONTENT_ENTITY and entity.get("value"):
            return str(entity["value"])
    return None


def make_offer(
    *, conversation_id: str, channel: str | None, text: str, parse: dict
) -> Offer | None:
    """The choices for an uncertain question, recorded for content authors; None if none."""
    with session_scope() as session:
        items = [item for cid in ranked_content_ids(parse) if (item := current_item(session, cid))]
        if len(items) < 2:
            return None
        session.add(
            UnansweredQuestion(
                conversation_id=conversation_id,
                channel=channel,
                text=text,
                confidence=_best_confidence(parse),
                kind="suggestions",
                offered=",".join(item.content_id for item in items),
            )
        )
        buttons, options = _choices(items)
    buttons.append({"title": NONE_TITLE, "payload": _choice_payload(NONE_CHOICE)})
    return Offer(PROMPT, buttons, {"type": "suggestions", "options": options})


def related_choices(content_ids: list[str]) -> tuple[list[dict], list[dict]]:
    """Buttons and `{content_id, topic, title}` options for the approved runner-up items."""
    with session_scope() as session:
        return _choices([item for cid in content_ids if (item := current_item(session, cid))])


def record_choice(*, conversation_id: str, content_id: str) -> bool:
    """Mark the conversation's latest open offer with what was picked ("" for none).

    An offer that did not list the pick (it came from under an answer) is
    left alone; returns whether an offer was marked."""
    chosen = "" if content_id == NONE_CHOICE else content_id
    with session_scope() as session:
        offer = session.scalars(
            select(UnansweredQuestion)
            .where(
                UnansweredQuestion.conversation_id == conversation_id,
                UnansweredQuestion.kind == "suggestions",
                UnansweredQuestion.chosen.is_(None),
            )
            .order_by(UnansweredQuestion.id.desc())
            .limit(1)
        ).first()
        if offer is None or (chosen and chosen not in (offer.offered or "").split(",")):
            return False
        offer.chosen = chosen
        return True


def _choices(items: list[ContentItem]) -> tuple[list[dict], list[dict]]:
    """Buttons (a `faq_choose` payload each) and the SPEC's `{content_id, topic, title}`."""
    options = [
        {"content_id": item.content_id, "topic": item.topic, "title": item.title} for item in items
    ]
    buttons = [
        {"title": option["title"], "payload": _choice_payload(option["content_id"])}
        for option in options
    ]
    return buttons, options


def _choice_payload(content_id: str) -> str:
    return f'/{CHOOSE_INTENT}{{"{CONTENT_ENTITY}": "{content_id}"}}'


def _best_confidence(parse: dict) -> float | None:
    ranking = ((parse.get("response_selector") or {}).get("faq") or {}).get("ranking") or []
    return float(ranking[0]["confidence"]) if ranking else None
