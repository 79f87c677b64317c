"""`rasa data validate` is clean."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import ROOT, VENV_BIN

# Responses that custom actions send (Rasa's validator only looks at stories
# and rules, so it reports them as unused).
SENT_BY_ACTIONS = {"utter_notice", "utter_answer_unavailable", "utter_faq"}


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
    problems = [
        line
        for line in re.findall(r"UserWarning: (.*)", output)
        if not any(f"utterance '{name}' is not used" in line for name in SENT_BY_ACTIONS)
    ]
    assert problems == [], "\n".join(problems)
