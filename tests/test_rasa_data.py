"""`rasa data validate` is clean."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import ROOT, VENV_BIN


def responses_sent_by_code() -> set[str]:
    """Responses that custom actions, forms, bot/answers/nlg.py and the in-process actions
    (session start) send; Rasa's validator only looks at stories and rules, so it reports
    these as unused."""
    names = set(re.findall(r'= "(utter_\w+)"', (ROOT / "bot" / "answers" / "nlg.py").read_text()))
    names |= set(
        re.findall(r'"(utter_\w+)"', (ROOT / "bot" / "channels" / "in_process.py").read_text())
    )
    for path in (ROOT / "actions").glob("*.py"):
        names |= set(re.findall(r'"(utter_\w+)"', path.read_text()))
    return names


def is_expected(warning: str, sent_by_code: set[str]) -> bool:
    unused = re.match(r"The utterance '(\w+)' is not used in any story or rule", warning)
    if unused:
        return unused.group(1) in sent_by_code or unused.group(1).startswith("utter_ask_")
    # Set only by components (CrisisOverride, ContentSelector) or sent by buttons: never trained.
    for intent in ("crisis_check", "faq_uncertain", "faq_choose"):
        if f"The intent '{intent}' is listed in the domain file, but is not found" in warning:
            return True
    # Training data for the crisis model only: no rule reacts to it, it is never predicted.
    if "The intent 'crisis_lookalike' is not used in any story or rule" in warning:
        return True
    # `faq` is declared in domain.yml and again by Rasa for the retrieval intent.
    return "duplicated intents have been found across multiple domain files: faq" in warning


def test_rasa_data_validate_is_clean() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "rasa"), "data", "validate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"RASA_TELEMETRY_ENABLED": "false", "PATH": str(VENV_BIN), "PYTHONPATH": str(ROOT)},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    sent_by_code = responses_sent_by_code()
    problems = [
        warning
        for warning in re.findall(r"UserWarning: (.*)", output)
        if not is_expected(warning, sent_by_code)
    ]
    assert problems == [], "\n".join(problems)
