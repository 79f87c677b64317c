"""Turning a predicted content id into the vetted answer and its SPEC section 4 payload."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.answers.content_store import current_item, fill_placeholders
from bot.config import SMS_CHANNEL, Settings
from bot.store.db import session_scope
from bot.store.models import AnswerServed, UnansweredQuestion

# One short line at the end of every answer (the session notice says the rest).
WEB_LIMITS = (
    "General information, not medical advice; whether it's right for you is decided "
    "by a clinician at a consultation."
)
SMS_LIMITS = "General info, not medical advice."


def one_message(body: str) -> str:
    """The web answer as one message: one line per paragraph or "- " bullet.

    Rasa's REST collector splits a text at every blank line into separate
    messages (one bubble each in the widget, "Assistant:" before each for a
    screen reader), so blank lines are dropped; a paragraph wrapped over
    several lines in the content file becomes one line.
    """
    lines: list[str] = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        paragraph: list[str] = []
        for line in block.split("\n"):
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.startswith(("- ", "* ", "\u2022 ")):
                if paragraph:
                    lines.append(" ".join(paragraph))
                    paragraph = []
                lines.append("- " + stripped[2:].strip())
            else:
                paragraph.append(stripped)
        if paragraph:
            lines.append(" ".join(paragraph))
    return "\n".join(lines)


FAQ_INTENT = "faq"


def selected_content(parse: dict) -> tuple[str, float] | None:
    """The content id the NLU chose to answer a parsed message with, if any.

    `parse` is Rasa's parse result (`tracker.latest_message` or `/model/parse`).
    The ContentSelector has already turned a low-confidence choice into
    `nlu_fallback`, so an `faq` intent here always has an item to answer with.
    """
    if (parse.get("intent") or {}).get("name") != FAQ_INTENT:
        return None
    selected = (parse.get("response_selector") or {}).get(FAQ_INTENT) or {}
    response = selected.get("response") or {}
    key = response.get("intent_response_key") or ""
    if not key.startswith(f"{FAQ_INTENT}/"):
        return None
    return key.split("/", 1)[1], float(response.get("confidence") or 0.0)


@dataclass(frozen=True)
class Answer:
    text: str
    payload: dict
    buttons: list[dict[str, str]] = field(default_factory=list)  # Rasa's {title, payload}


def answer_buttons(stored: list[dict] | None) -> list[dict[str, str]]:
    """An item's stored buttons as Rasa sends them: the payload starts the intent's flow."""
    return [{"title": b["title"], "payload": f"/{b['intent']}"} for b in stored or []]


def answer_for(
    settings: Settings,
    *,
    content_id: str,
    conversation_id: str,
    channel: str | None,
    confidence: float | None,
) -> Answer | None:
    """The approved answer for `content_id`, recorded for audit; None if there is none."""
    with session_scope() as session:
        item = current_item(session, content_id)
        if item is None:
            return None
        sms = channel == SMS_CHANNEL
        body = fill_placeholders(item.answer_sms if sms else item.answer_web, settings.clinic)
        text = f"{body} {SMS_LIMITS}" if sms else f"{one_message(body)}\n{WEB_LIMITS}"
        payload = {
            "type": "faq",
            "content_id": item.content_id,
            "topic": item.topic,
            "version": item.version,
            "reviewed_on": item.reviewed_on.isoformat(),
            "sources": list(item.sources),
        }
        buttons = answer_buttons(item.buttons)
        session.add(
            AnswerServed(
                conversation_id=conversation_id,
                content_id=item.content_id,
                version=item.version,
                channel=channel,
                confidence=confidence,
            )
        )
    return Answer(text=text, payload=payload, buttons=buttons)


def record_unanswered(
    *,
    conversation_id: str,
    channel: str | None,
    text: str,
    confidence: float | None,
    kind: str = "fallback",
    offered: list[str] | None = None,
    chosen: str | None = None,
) -> None:
    """Keep the question the bot could not answer, so staff know what to write next
    (`kind = "related"`: the person picked another item from under its answer)."""
    with session_scope() as session:
        session.add(
            UnansweredQuestion(
                conversation_id=conversation_id,
                channel=channel,
                text=text,
                confidence=confidence,
                kind=kind,
                offered=",".join(offered) if offered else None,
                chosen=chosen,
            )
        )
