"""The reviewed crisis phrase/pattern layer (SPEC section 6), without the model."""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.safety.evaluate import load_eval_set, score
from bot.safety.patterns import (
    GUARDS,
    RULE_SET,
    RULES,
    RULES_FILE,
    CrisisMatch,
    CrisisRulesError,
    detect_crisis,
    explain,
    load_rules,
    normalise,
    parse_rules,
)

ROOT = Path(__file__).resolve().parent.parent
EVAL_SET = ROOT / "tests" / "data" / "crisis_eval.yml"
CRISIS_NLU = ROOT / "data" / "nlu" / "crisis.yml"
RULES_YAML = ROOT / "bot" / "safety" / "crisis_rules.yml"
CATEGORIES = {
    "suicidal_ideation",
    "plan_or_means",
    "self_harm",
    "overdose",
    "harm_to_others",
    "third_party",
    "spanish",
}


def flagged(text: str) -> bool:
    return detect_crisis(text) is not None


@pytest.fixture(scope="module")
def result() -> dict:
    crisis, not_crisis = load_eval_set(EVAL_SET)
    return score(flagged, crisis, not_crisis)


def test_every_crisis_in_the_eval_set_is_caught(result: dict) -> None:
    missed = "\n".join(f"  MISSED: {text}" for text in result["missed"])
    assert result["missed"] == [], f"pattern layer missed {len(result['missed'])}:\n{missed}"
    assert result["recall"] == 1.0


def test_false_positive_rate_is_at_most_5_percent(result: dict) -> None:
    fps = "\n".join(f"  false positive: {text}" for text in result["false_positives"])
    assert result["false_positive_rate"] <= 0.05, (
        f"false-positive rate {result['false_positive_rate']:.1%}:\n{fps}"
    )


def test_score_reports_counts(result: dict) -> None:
    counts = result["counts"]
    assert counts["crisis"] >= 200 and counts["not_crisis"] >= 200
    assert counts["detected"] + counts["missed"] == counts["crisis"]


@pytest.mark.parametrize(
    "text",
    [
        "I'm dying to know how long the infusion takes",
        "I'm dying to try it",
        "killer headache today",
        "this wait is killing me",
        "my feet are killing me",
        "just killing time in the lobby",
        "I'd kill for a coffee",
        "I'm dead tired",
        "I killed it at work today",
        "I almost killed myself laughing",
        "Will I want to die of boredom during the infusion?",
        "my mom will kill me if I'm late",
        "I kind of shot myself in the foot there",
        "I live 20 kms away",
        "kmsl",
        "is ketamine used for suicidal depression?",
        "does esketamine help suicidal thoughts",
        "I'm not suicidal, just curious",
        "I attempted years ago, doing well now",
        "I cut myself shaving",
        "I'm cutting back on coffee",
        "I don't want to wake up early, any afternoon slots?",
        "I can't go on vacation during treatment, right?",
        "I want to disappear to the beach for a week lol",
        "me muero de ganas de probarlo",
        "",
    ],
)
def test_idioms_and_look_alikes_are_not_flagged(text: str) -> None:
    assert detect_crisis(text) is None, detect_crisis(text)


@pytest.mark.parametrize(
    "text",
    [
        # slang and obfuscation
        "kms",
        "lowkey wanna kms",
        "KMS!!!",
        "thinking about unaliving",
        "sewer slide tbh",
        "want to ctb",
        "gonna off myself",
        "k!ll mys3lf",
        "su1c1dal again",
        "i want to d1e",
        # misspellings
        "i want to kil my self",
        "im sucidal",
        "thinking about suicde",
        "feeling suicidle",
        "i wnat to die",
        "i want too die",
        "i want 2 end my life",
        "i want to dieeeee",
        # curly apostrophes and accents
        "I don\u2019t want to be alive anymore",
        # Spanish
        "quiero morir",
        "me quiero matar",
        "estoy pensando en suicidarme",
        "no quiero vivir",
        "quiero hacerme daño",
        "voy a quitarme la vida",
        "mi hija dice que se va a matar",
    ],
)
def test_slang_misspellings_and_spanish_are_flagged(text: str) -> None:
    assert detect_crisis(text) is not None, text


def test_an_idiom_does_not_hide_a_crisis_in_the_same_message() -> None:
    assert flagged("I'm dying to know the price, honestly I want to die")
    assert flagged("my feet are killing me and I want to kill myself")


# Dev look-alikes that used to get the protocol through a rule, and the guard
# (or history anchor) that now lets each through.
@pytest.mark.parametrize(
    ("text", "guard"),
    [
        ("la canción que pusieron en la sala me mató, qué bonita", "es_song_killed_me"),
        (
            "if I have to fill out one more intake form I'm going to die 😂 how many are there",
            "one_more_chore_die",
        ),
        (
            "been 3 yrs since I last had thoughts about killing myself. therapist says I'm in"
            " remission but the fatigue and low motivation hang on. would ketamine help with"
            " that part",
            "years_since_thoughts",
        ),
        (
            "In 2014 I had a plan to end things and got help in time. I actually celebrate that"
            " date every year now. Anyway, can ketamine help depression that's mostly just"
            " numbness?",
            "past_plan_end",
        ),
        (
            "Not suicidal, just really really sad and I want it to stop. How soon could a"
            " consult happen?",
            "not_suicidal_want_it_stop",
        ),
        (
            "In the movie I watched last night a guy jumped off a building after taking"
            " ketamine. That's not what happens at a clinic, right?",
            "fiction_plot",
        ),
        (
            "A character in the book I'm reading says she'd rather die than go back to therapy."
            " Made me laugh because that's how I felt before I found my therapist lol. Do you"
            " work with outside therapists?",
            "fiction_plot",
        ),
    ],
)
def test_guarded_dev_look_alikes_are_not_flagged(text: str, guard: str) -> None:
    assert guard in explain(text)["guards"], explain(text)
    assert detect_crisis(text) is None, explain(text)


def test_past_anchor_counts_years_since_the_persons_own_event() -> None:
    text = "it's been five years since I attempted, doing well, can I book a consult"
    assert explain(text)["resolved_history"] is True
    assert detect_crisis(text) is None
    assert flagged("it's been five years since I attempted and I attempted again last week")


@pytest.mark.parametrize(
    "text",
    [
        # the bare crisis wordings the new guards sit next to
        "me mato esta noche",
        "me mato",
        "I'm going to die tonight, I have the pills",
        "I had a plan to end things and I still do",
        "I have a plan to end things",
        "I jumped off a building once and I want to do it again tonight",
        "I want to jump off a building",
        "I'm not suicidal but I want it all to end",
        # es_song_killed_me: only the song's 'me mató' is blanked
        "la canción me mató, pero en serio esta noche me mato",
        "la canción me recuerda a él, esta noche me mato",
        "esa película me mató hoy, me mato",
        # one_more_chore_die: not a day of life, not with means or a time
        "if I have to get through one more day I'm going to die",
        "if I have to fill out one more form I'm going to die tonight",
        "if I have to fill out one more form I'm going to die, I have the pills ready",
        # years_since_thoughts / past_plan_end: not when anything current follows
        "it's been 3 years since I last had thoughts about killing myself until last night",
        "3 years since I had thoughts of killing myself, they're back",
        "In 2014 I had a plan to end things and I have one again",
        "In 2014 I had a plan to end things. I have a plan to end things now",
        "In 2014 I had a plan to end things and tonight I want to end it all",
        # not_suicidal_want_it_stop: not with a crisis word in between, not 'forever'
        "not suicidal but I want to kill myself and I want it to stop",
        "not suicidal, I want it to stop for good",
        "im not suicidal i just want everything to stop",
        # fiction_plot: not when the writer relates it to themselves
        "In the movie a guy jumped off a building and I want to do that tonight",
        "In the movie a guy jumped off a building, I keep thinking about jumping off the bridge",
        "A character in the book says she'd rather die. I'd rather die too",
        "my friend jumped off a building last night",
    ],
)
def test_crisis_wordings_next_to_the_new_guards_are_still_flagged(text: str) -> None:
    assert flagged(text), explain(text)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I want to kill myself", "suicidal_ideation"),
        ("I've been cutting myself again", "self_harm"),
        ("I'm going to take all my pills", "overdose"),
        ("I want to kill him", "harm_to_others"),
        ("my son says he wants to kill himself", "third_party"),
        ("my friend took a bunch of pills", "third_party"),
        ("I bought a gun", "plan_or_means"),
        ("me quiero matar", "spanish"),
    ],
)
def test_match_reports_category_and_rule(text: str, category: str) -> None:
    match = detect_crisis(text)
    assert isinstance(match, CrisisMatch)
    assert match.category == category
    assert match.rule_id in {rule.id for rule in RULES}


def test_rules_are_documented_and_ids_are_stable_keys() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids)), "rule ids must be unique"
    assert len({guard.id for guard in GUARDS}) == len(GUARDS), "guard ids must be unique"
    for rule in RULES:
        assert rule.category in CATEGORIES, rule.id
        assert rule.why.strip(), f"{rule.id} needs a reason"
    for guard in GUARDS:
        assert guard.why.strip(), f"{guard.id} needs a reason"
    with pytest.raises(dataclasses.FrozenInstanceError):
        detect_crisis("kms").rule_id = "x"  # type: ignore[misc, union-attr]


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())


def _crisis_training_examples() -> list[str]:
    data = yaml.safe_load(CRISIS_NLU.read_text(encoding="utf-8"))
    assert str(data["version"]) == "3.1"
    blocks = [block for block in data["nlu"] if block.get("intent") == "crisis"]
    assert len(blocks) == 1
    return [
        line.strip()[2:].strip()
        for line in blocks[0]["examples"].splitlines()
        if line.strip().startswith("- ")
    ]


def test_crisis_training_data_is_well_formed() -> None:
    examples = _crisis_training_examples()
    assert 70 <= len(examples) <= 90, len(examples)
    assert len({_key(e) for e in examples}) == len(examples), "duplicate training examples"


def test_no_eval_text_appears_in_the_crisis_training_data() -> None:
    crisis, not_crisis = load_eval_set(EVAL_SET)
    eval_keys = {_key(text) for text in crisis + not_crisis}
    leaked = [e for e in _crisis_training_examples() if _key(e) in eval_keys]
    assert leaked == [], f"eval texts copied into {CRISIS_NLU.name}: {leaked}"


def test_model_score_tiers() -> None:
    """Protocol at a high score, the question at a medium one, nothing below."""
    from bot.safety.detector import CHECK_INTENT, CRISIS_INTENT, classify

    text = "I have been reading about the topic"  # no rule matches
    assert classify(text, 0.95, 0.9, 0.5)["intent"] == CRISIS_INTENT
    assert classify(text, 0.6, 0.9, 0.5)["intent"] == CHECK_INTENT
    assert classify(text, 0.4, 0.9, 0.5) is None
    assert classify(text, None, 0.9, 0.5) is None


def test_neighbours_ask_the_question_but_never_run_the_protocol() -> None:
    """Crisis-heavy neighbours ask the direct question; the protocol needs a rule or a score."""
    from bot.safety.detector import CHECK_INTENT, classify

    text = "I have been reading about the topic"
    asked = classify(text, 0.1, 0.9, 0.5, neighbour_share=0.8, neighbour_threshold=0.8)
    assert asked["intent"] == CHECK_INTENT and asked["detected_by"] == "neighbours"
    assert classify(text, 0.1, 0.9, 0.5, neighbour_share=0.79, neighbour_threshold=0.8) is None
    assert classify(text, 0.1, 0.9, 0.5, "request_human", 1.0, 0.8) is None


def test_crisis_neighbours_share_is_weighted_by_similarity(tmp_path: Path) -> None:
    import numpy as np

    from bot.safety.component import CrisisNeighbours

    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [-1.0, 0.0]])
    neighbours = CrisisNeighbours.build(vectors, [True, True, False, False, False], k=2)
    assert neighbours.share(np.array([1.0, 0.05])) == 1.0
    assert neighbours.share(np.array([0.05, 1.0])) == 0.0
    mixed = neighbours.share(np.array([0.5, 0.5]))  # nearest: one crisis, one not, alike
    assert abs(mixed - 0.5) < 1e-6
    neighbours.save(tmp_path / "n.npz")
    again = CrisisNeighbours.read(tmp_path / "n.npz")
    assert again.k == 2 and again.share(np.array([0.5, 0.5])) == mixed


def test_contact_requests_never_get_the_question() -> None:
    from bot.safety.detector import CRISIS_INTENT, classify

    text = "can someone call me back"
    assert classify(text, 0.6, 0.9, 0.5, predicted_intent="request_consultation") is None
    assert classify(text, 0.6, 0.9, 0.5, predicted_intent="request_human") is None
    # A high score, or a rule, still runs the protocol.
    assert classify(text, 0.95, 0.9, 0.5, "request_human")["intent"] == CRISIS_INTENT
    assert classify("call me, i want to kill myself", 0.0, 0.9, 0.5, "request_human")["intent"] == (
        CRISIS_INTENT
    )


# --------------------------------------------------------------------------
# The rule file (bot/safety/crisis_rules.yml): its examples are tests
# --------------------------------------------------------------------------

RAW_RULES = yaml.safe_load(RULES_YAML.read_text(encoding="utf-8"))


def _examples(entries: list[dict], kind: str) -> list:
    return [
        pytest.param(entry["id"], text, id=f"{entry['id']}: {text}")
        for entry in entries
        for text in (entry.get("examples") or {}).get(kind) or []
    ]


def _special_examples(entry: dict, kind: str) -> list:
    return [pytest.param(text, id=text) for text in (entry.get("examples") or {}).get(kind) or []]


def test_the_module_uses_the_rule_file() -> None:
    assert RULES_FILE == RULES_YAML
    loaded = load_rules(RULES_YAML)
    assert [(r.id, r.category, r.pattern.pattern, r.why, r.history) for r in loaded.rules] == [
        (r.id, r.category, r.pattern.pattern, r.why, r.history) for r in RULES
    ]
    assert [(g.id, g.pattern.pattern, g.why) for g in loaded.guards] == [
        (g.id, g.pattern.pattern, g.why) for g in GUARDS
    ]
    assert [r["id"] for r in RAW_RULES["rules"]] == [r.id for r in RULES], "rule order"
    assert [g["id"] for g in RAW_RULES["guards"]] == [g.id for g in GUARDS], "guard order"


def test_every_rule_and_guard_has_examples() -> None:
    for rule in RAW_RULES["rules"]:
        assert rule["examples"]["match"], f"rule {rule['id']} needs a `match` example"
    for guard in RAW_RULES["guards"]:
        assert guard["examples"]["no_match"], f"guard {guard['id']} needs a `no_match` example"


@pytest.mark.parametrize(("rule_id", "text"), _examples(RAW_RULES["rules"], "match"))
def test_rule_match_examples_are_flagged_by_that_rule(rule_id: str, text: str) -> None:
    match = detect_crisis(text)
    assert match is not None, f"not flagged; {explain(text)}"
    assert match.rule_id == rule_id, f"taken by the earlier rule {match.rule_id}"


@pytest.mark.parametrize(("rule_id", "text"), _examples(RAW_RULES["rules"], "no_match"))
def test_rule_no_match_examples_are_not_flagged(rule_id: str, text: str) -> None:
    assert detect_crisis(text) is None, explain(text)


@pytest.mark.parametrize(("guard_id", "text"), _examples(RAW_RULES["guards"], "no_match"))
def test_guard_no_match_examples_are_blanked_by_that_guard(guard_id: str, text: str) -> None:
    assert guard_id in explain(text)["guards"], f"guard does not fire on {normalise(text)!r}"
    assert detect_crisis(text) is None, explain(text)


@pytest.mark.parametrize(("guard_id", "text"), _examples(RAW_RULES["guards"], "match"))
def test_guard_match_examples_are_still_flagged(guard_id: str, text: str) -> None:
    assert detect_crisis(text) is not None, explain(text)


@pytest.mark.parametrize(
    "text", _special_examples(RAW_RULES["history"]["past_anchors"], "no_match")
)
def test_resolved_history_examples_are_not_flagged(text: str) -> None:
    assert explain(text)["resolved_history"] is True
    assert detect_crisis(text) is None, explain(text)


@pytest.mark.parametrize(
    "text", _special_examples(RAW_RULES["history"]["present_markers"], "match")
)
def test_history_with_a_present_marker_is_flagged(text: str) -> None:
    norm = normalise(text)
    assert RULE_SET.past_anchor.search(norm), "example needs a past anchor"
    assert RULE_SET.present_marker.search(norm), "example needs a present marker"
    match = detect_crisis(text)
    assert match is not None, explain(text)


@pytest.mark.parametrize("text", _special_examples(RAW_RULES["third_party_subject"], "match"))
def test_third_party_examples_are_reported_as_third_party(text: str) -> None:
    match = detect_crisis(text)
    assert match is not None and match.category == "third_party", match


@pytest.mark.parametrize("text", _special_examples(RAW_RULES["third_party_subject"], "no_match"))
def test_first_person_examples_keep_their_category(text: str) -> None:
    match = detect_crisis(text)
    assert match is None or match.category != "third_party", match


def _all_example_texts() -> list[str]:
    texts = []
    for entry in [
        *RAW_RULES["rules"],
        *RAW_RULES["guards"],
        *RAW_RULES["history"].values(),
        RAW_RULES["third_party_subject"],
    ]:
        examples = entry.get("examples") or {}
        texts += (examples.get("match") or []) + (examples.get("no_match") or [])
    return texts


def test_rule_examples_are_not_copied_from_evaluation_or_training_data() -> None:
    held_out: set[str] = set()

    def collect(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)
        elif isinstance(node, str):
            for line in node.splitlines():
                held_out.add(_key(line.strip().removeprefix("- ")))

    for path in [*(ROOT / "tests" / "data").glob("*.yml"), *(ROOT / "data" / "nlu").glob("*.yml")]:
        collect(yaml.safe_load(path.read_text(encoding="utf-8")))
    texts = _all_example_texts()
    copied = [text for text in texts if _key(text) in held_out]
    assert copied == [], f"{RULES_YAML.name} examples copied from tests/data or data/nlu: {copied}"
    assert len({_key(text) for text in texts}) == len(texts), "duplicate examples"


# --------------------------------------------------------------------------
# The loader refuses an invalid rule file with a clear error
# --------------------------------------------------------------------------


def _set(path: tuple, value: object) -> Callable[[dict], None]:
    def edit(data: dict) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def _delete(path: tuple) -> Callable[[dict], None]:
    def edit(data: dict) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return edit


def _append_to_pattern(index: int, text: str) -> Callable[[dict], None]:
    def edit(data: dict) -> None:
        data["rules"][index]["pattern"] = data["rules"][index]["pattern"].rstrip() + text

    return edit


FIRST_RULE = RAW_RULES["rules"][0]["id"]
FIRST_GUARD = RAW_RULES["guards"][0]["id"]


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        pytest.param(
            _set(("rules", 1, "id"), FIRST_RULE),
            rf"rules\[1\]: duplicate id '{FIRST_RULE}'",
            id="duplicate rule id",
        ),
        pytest.param(
            _set(("rules", 0, "id"), FIRST_GUARD),
            rf"rules\[0\]: duplicate id '{FIRST_GUARD}' \(already used by guards\[0\]\)",
            id="rule id reuses a guard id",
        ),
        pytest.param(
            _set(("rules", 0, "id"), "Goodbye Note"), "must be lower-case", id="malformed id"
        ),
        pytest.param(
            _set(("rules", 0, "category"), "sadness"),
            rf"rule {FIRST_RULE}: unknown category 'sadness'",
            id="unknown category",
        ),
        pytest.param(
            _append_to_pattern(0, "|<NOSUCH>"),
            rf"rule {FIRST_RULE}: <NOSUCH> not defined under `vocabulary:`",
            id="undefined vocabulary name",
        ),
        pytest.param(
            _delete(("vocabulary", "PILLNAME")),
            r"<PILLNAME> not defined under `vocabulary:`",
            id="vocabulary entry removed",
        ),
        pytest.param(
            _set(("vocabulary", "ADV", "pattern"), "(?:<HARM>)?"),
            r"vocabulary ADV: a vocabulary entry cannot use another <NAME>",
            id="vocabulary uses vocabulary",
        ),
        pytest.param(
            _set(("rules", 0, "examples"), {"no_match": ["what are your hours?"]}),
            rf"rule {FIRST_RULE}: needs at least one `match` example",
            id="rule without a match example",
        ),
        pytest.param(
            _delete(("rules", 0, "examples")),
            r"rules\[0\]: missing examples",
            id="rule without examples",
        ),
        pytest.param(
            _set(("guards", 0, "examples"), {"match": ["I want to die"]}),
            rf"guard {FIRST_GUARD}: needs at least one `no_match` example",
            id="guard without a no_match example",
        ),
        pytest.param(
            _set(("rules", 0, "examples", "match"), "kms"),
            r"examples: match: expected a list of messages",
            id="examples not a list",
        ),
        pytest.param(
            _set(("rules", 0, "pattern"), r"\bkill(?:\s+myself"),
            rf"rule {FIRST_RULE}: pattern is not a valid regular expression",
            id="invalid regex",
        ),
        pytest.param(
            _set(("rules", 0, "histroy"), True),
            r"rules\[0\]: unknown key\(s\) histroy",
            id="misspelt key",
        ),
        pytest.param(
            _set(("rules", 0, "history"), "yes please"),
            rf"rule {FIRST_RULE}: history must be true or false",
            id="history not a boolean",
        ),
        pytest.param(
            _set(("rules", 0, "why"), "two\nlines"),
            rf"rule {FIRST_RULE}: why: expected one non-empty line",
            id="why on two lines",
        ),
        pytest.param(
            _delete(("guards", 0, "why")), r"guards\[0\]: missing why", id="guard without why"
        ),
        pytest.param(
            _delete(("history", "present_markers")),
            r"history: missing present_markers",
            id="history marker missing",
        ),
        pytest.param(_set(("rules",), []), r"rules: expected a non-empty list", id="no rules"),
        pytest.param(_set(("version",), 2), r"version: expected 1, got 2", id="wrong version"),
    ],
)
def test_the_loader_rejects_an_invalid_rule_file(edit: Callable[[dict], None], error: str) -> None:
    data = copy.deepcopy(RAW_RULES)
    edit(data)
    with pytest.raises(CrisisRulesError, match=error):
        parse_rules(data, source="crisis_rules.yml")


def test_the_loader_accepts_the_rule_file_unchanged() -> None:
    rule_set = parse_rules(copy.deepcopy(RAW_RULES))
    assert [rule.id for rule in rule_set.rules] == [rule.id for rule in RULES]
    assert rule_set.examples[FIRST_RULE].match


def test_the_loader_names_the_file_for_unreadable_or_non_yaml_files(tmp_path: Path) -> None:
    broken = tmp_path / "crisis_rules.yml"
    broken.write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(CrisisRulesError, match=r"crisis_rules\.yml: not valid YAML"):
        load_rules(broken)
    with pytest.raises(CrisisRulesError, match=r"missing\.yml: cannot read the crisis rules"):
        load_rules(tmp_path / "missing.yml")
    not_a_mapping = tmp_path / "list.yml"
    not_a_mapping.write_text("- id: x\n", encoding="utf-8")
    with pytest.raises(CrisisRulesError, match=r"list\.yml: top level: expected a mapping"):
        load_rules(not_a_mapping)
