"""Engine of the reviewed phrase/pattern layer of crisis detection (SPEC section 6).

The rules are data: `bot/safety/crisis_rules.yml` holds the phrase/pattern
rules, the idiom guards, the shared vocabulary (<SUICIDE>, <PILLNAME>, ...),
the history markers and the third-party subject pattern, each with a reason
and examples, plus the review process and the agreed judgement calls, for
clinicians to read and sign off. This module normalises the text (below),
loads and validates that file once at import (an invalid file raises
`CrisisRulesError`, so a broken rule book stops start-up instead of silently
detecting less) and applies it:

`detect_crisis(text)` returns a `CrisisMatch` (category + stable rule id, for
the audit trail) when a message looks like a crisis, or None; `explain(text)`
shows reviewers the normalised and guarded text and what matched. It is one
of the two detection layers (the other is the trained `crisis` intent, see
`bot.safety.detector`). It needs only the standard library and PyYAML, so it
works when the model, the action server or the database are down.

Pipeline (details in the header of crisis_rules.yml): `normalise()`; the
guards blank out their spans; a resolved past history switches off the rules
marked `history: true`; the rules are tried in order and the first match
wins; an English match about someone else becomes category `third_party`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import yaml

RULES_FILE = Path(__file__).with_name("crisis_rules.yml")
RULES_FORMAT_VERSION = 1


@dataclass(frozen=True)
class CrisisMatch:
    category: str  # suicidal_ideation | self_harm | overdose | harm_to_others | third_party | ...
    rule_id: str  # stable id of the rule that fired, for audit


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    pattern: re.Pattern[str]
    why: str
    history: bool = False  # switched off by resolved past-history wording


@dataclass(frozen=True)
class Guard:
    id: str
    pattern: re.Pattern[str]
    why: str


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "`": "'",
        "\u02bc": "'",
        "\uff07": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
    }
)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_LEET_RE = re.compile(r"(?<=[a-z])[013457@$!]+(?=[a-z])")
_OD_RE = re.compile(r"\bod'(?:d|ed|ing|ding|s)?\b|\bod(?:ing|ding|ed)\b")
_REPEAT_RE = re.compile(r"([a-z])\1{2,}")
_NON_WORD_RE = re.compile(r"[^a-z0-9]+")
_NUM_TO_RE = re.compile(r"(?<=[a-z]) 2 (?=[a-z])")
_NUM_FOR_RE = re.compile(r"(?<=[a-z]) 4 (?=[a-z])")
_TOO_RE = re.compile(r"\btoo (?=(?:die|kill|end|live|hurt|be|cut)\b)")
_SPLIT_WORDS = {
    # chat spellings -> plain English; keys are whole normalised tokens
    "wanna": "want to",
    "wana": "want to",
    "wan2": "want to",
    "gonna": "going to",
    "gona": "going to",
    "gunna": "going to",
    "finna": "going to",
    "imma": "im going to",
    "ima": "im going to",
    "tryna": "trying to",
    "gotta": "got to",
    "wnat": "want",
    "watn": "want",
    "wnt": "want",
    "whant": "want",
    "tonite": "tonight",
    "2nite": "tonight",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "rn": "right now",
    "u": "you",
    "ur": "your",
    "kil": "kill",
    "kiling": "killing",
    "kiled": "killed",
    "kll": "kill",
    "myslef": "myself",
    "mysef": "myself",
    "myslf": "myself",
    "meself": "myself",
    "urself": "yourself",
    "selfharm": "self harm",
    "selfharming": "self harming",
    "selfharmed": "self harmed",
    "unalived": "unalive",
    "suicde": "suicide",
    "cuz": "because",
    "coz": "because",
    "dunno": "dont know",
    "bout": "about",
    "abt": "about",
    "thinkin": "thinking",
    "feelin": "feeling",
    "tryin": "trying",
    "goin": "going",
    "wantin": "wanting",
    "talkin": "talking",
    "cuttin": "cutting",
    "killin": "killing",
    "hurtin": "hurting",
    "dyin": "dying",
    "livin": "living",
    "nothin": "nothing",
    "ppl": "people",
    "diee": "die",
    "ded": "dead",
}
_PHRASES = [
    (re.compile(r"\bmy self\b"), "myself"),
    (re.compile(r"\bhim self\b"), "himself"),
    (re.compile(r"\bher self\b"), "herself"),
    (re.compile(r"\bthem ?selves\b"), "themselves"),
    (re.compile(r"\bsewer ?slide\b"), "sewerslide"),
    (re.compile(r"\bun alive"), "unalive"),
    (re.compile(r"\bk m s\b"), "kms"),
    (re.compile(r"\bself (?=harm)"), "self "),
]


def normalise(text: str) -> str:
    """The canonical form all rules and guards are written against.

    Curly quotes to straight, accents stripped (ñ -> n), lower-case, leetspeak
    inside words (k1ll, su1c1dal, k!ll, mys3lf), OD'd / OD'ing -> od,
    apostrophes dropped (don't -> dont, I'm -> im), letters repeated 3+ times
    collapsed (dieeee -> die), punctuation -> spaces, then chat spellings
    expanded (wanna -> want to, gonna -> going to, kil -> kill, my self ->
    myself, wnat -> want, "2" between words -> to, rn -> right now).
    """
    t = text.translate(_QUOTES)
    t = unicodedata.normalize("NFKD", t)
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    t = t.casefold()
    t = _LEET_RE.sub(lambda m: m.group(0).translate(_LEET), t)
    t = _OD_RE.sub(" od ", t)
    t = t.replace("'", "")
    t = _REPEAT_RE.sub(r"\1", t)
    t = _NON_WORD_RE.sub(" ", t).strip()
    t = " ".join(_SPLIT_WORDS.get(word, word) for word in t.split())
    t = _NUM_TO_RE.sub(" to ", t)
    t = _NUM_FOR_RE.sub(" for ", t)
    t = _TOO_RE.sub("to ", t)
    for pattern, replacement in _PHRASES:
        t = pattern.sub(replacement, t)
    return t


# --------------------------------------------------------------------------
# The rule file (bot/safety/crisis_rules.yml): loading and validation
# --------------------------------------------------------------------------

SI, PM, SH, OD, HO, TP, ES = (
    "suicidal_ideation",
    "plan_or_means",
    "self_harm",
    "overdose",
    "harm_to_others",
    "third_party",
    "spanish",
)
CATEGORIES = frozenset({SI, PM, SH, OD, HO, TP, ES})
_ADJUSTABLE = {SI, PM, SH, OD}  # categories that become third_party when about someone else
# Example-set names of the entries that are not rules or guards (ids may not reuse them).
PAST_ANCHORS, PRESENT_MARKERS, THIRD_PARTY_SUBJECT = (
    "past_anchors",
    "present_markers",
    "third_party_subject",
)

_VOCAB_RE = re.compile(r"<([A-Z]+)>")
_NAME_RE = re.compile(r"[A-Z]+\Z")
_ID_RE = re.compile(r"[a-z][a-z0-9_]*\Z")


class CrisisRulesError(ValueError):
    """The crisis rule file is invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class Examples:
    """Whole messages an entry is tested with (semantics in crisis_rules.yml's header)."""

    match: tuple[str, ...] = ()
    no_match: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    """A loaded, validated and compiled rule file."""

    vocabulary: Mapping[str, str]  # NAME -> pattern piece inserted for <NAME>
    guards: tuple[Guard, ...]  # applied in order
    past_anchor: re.Pattern[str]
    present_marker: re.Pattern[str]
    rules: tuple[Rule, ...]  # tried in order, first match wins
    third_party_subject: re.Pattern[str]
    examples: Mapping[str, Examples]  # by rule/guard id, PAST_ANCHORS, PRESENT_MARKERS, ...


def load_rules(path: Path | str = RULES_FILE) -> RuleSet:
    """Read, validate and compile a rule file; `CrisisRulesError` if it is invalid."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CrisisRulesError(f"{path}: cannot read the crisis rules: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CrisisRulesError(f"{path}: not valid YAML: {exc}") from exc
    return parse_rules(data, source=str(path))


def parse_rules(data: object, source: str = "crisis rules") -> RuleSet:
    """Validate and compile the parsed content of a rule file (see `load_rules`)."""
    return _Parser(source).parse(data)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.vocabulary: dict[str, str] = {}
        self.examples: dict[str, Examples] = {}
        self.ids: dict[str, str] = {}  # id -> where it was first defined

    def error(self, where: str, message: str) -> CrisisRulesError:
        return CrisisRulesError(f"{self.source}: {where}: {message}")

    def mapping(
        self, value: object, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict:
        if not isinstance(value, dict):
            raise self.error(where, f"expected a mapping with {', '.join(required + optional)}")
        unknown = sorted(str(key) for key in value if key not in required + optional)
        if unknown:
            allowed = ", ".join(required + optional)
            raise self.error(where, f"unknown key(s) {', '.join(unknown)} (allowed: {allowed})")
        missing = [key for key in required if key not in value]
        if missing:
            raise self.error(where, f"missing {', '.join(missing)}")
        return value

    def entries(self, value: object, where: str) -> list:
        if not isinstance(value, list) or not value:
            raise self.error(where, "expected a non-empty list")
        return value

    def one_line(self, value: object, where: str) -> str:
        if not isinstance(value, str) or not value.strip() or "\n" in value:
            raise self.error(where, "expected one non-empty line of text")
        return value

    def new_id(self, value: object, where: str) -> str:
        if not isinstance(value, str) or not _ID_RE.match(value):
            raise self.error(where, f"id {value!r} must be lower-case letters, digits and _")
        if value in (PAST_ANCHORS, PRESENT_MARKERS, THIRD_PARTY_SUBJECT):
            raise self.error(where, f"id {value!r} is reserved")
        if value in self.ids:
            raise self.error(where, f"duplicate id {value!r} (already used by {self.ids[value]})")
        self.ids[value] = where
        return value

    @staticmethod
    def source_text(value: str) -> str:
        # A block's lines are joined with nothing in between, each line stripped.
        return "".join(line.strip() for line in value.splitlines())

    def pattern(self, value: object, where: str) -> re.Pattern[str]:
        if not isinstance(value, str) or not self.source_text(value):
            raise self.error(where, "pattern must be a non-empty text")
        source = self.source_text(value)
        undefined = sorted(set(_VOCAB_RE.findall(source)) - set(self.vocabulary))
        if undefined:
            names = ", ".join(f"<{name}>" for name in undefined)
            raise self.error(where, f"{names} not defined under `vocabulary:`")
        expanded = _VOCAB_RE.sub(lambda m: self.vocabulary[m.group(1)], source)
        try:
            return re.compile(expanded)
        except re.error as exc:
            message = f"pattern is not a valid regular expression: {exc}"
            raise self.error(where, message) from exc

    def example_set(self, key: str, value: object, where: str, need: str | None) -> None:
        value = {} if value is None else value
        value = self.mapping(value, f"{where}: examples", (), ("match", "no_match"))
        lists = {}
        for kind in ("match", "no_match"):
            texts = value.get(kind) or []
            if not isinstance(texts, list) or not all(
                isinstance(text, str) and text.strip() for text in texts
            ):
                raise self.error(f"{where}: examples: {kind}", "expected a list of messages")
            lists[kind] = tuple(texts)
        if need and not lists[need]:
            raise self.error(where, f"needs at least one `{need}` example")
        self.examples[key] = Examples(**lists)

    def parse(self, data: object) -> RuleSet:
        top = self.mapping(
            data,
            "top level",
            ("version", "vocabulary", "guards", "history", "rules", "third_party_subject"),
        )
        if type(top["version"]) is not int or top["version"] != RULES_FORMAT_VERSION:
            raise self.error("version", f"expected {RULES_FORMAT_VERSION}, got {top['version']!r}")

        vocabulary = top["vocabulary"]
        if not isinstance(vocabulary, dict):
            raise self.error("vocabulary", "expected a mapping NAME -> {why, pattern}")
        for name, entry in vocabulary.items():
            where = f"vocabulary {name}"
            if not isinstance(name, str) or not _NAME_RE.match(name):
                raise self.error(
                    where, "a vocabulary name is capital letters only (used as <NAME>)"
                )
            entry = self.mapping(entry, where, ("why", "pattern"))
            self.one_line(entry["why"], f"{where}: why")
            if not isinstance(entry["pattern"], str) or not self.source_text(entry["pattern"]):
                raise self.error(where, "pattern must be a non-empty text")
            piece = self.source_text(entry["pattern"])
            if _VOCAB_RE.search(piece):
                raise self.error(where, "a vocabulary entry cannot use another <NAME>")
            self.vocabulary[name] = piece

        guards = []
        for n, entry in enumerate(self.entries(top["guards"], "guards")):
            where = f"guards[{n}]"
            entry = self.mapping(entry, where, ("id", "why", "pattern", "examples"))
            guard_id = self.new_id(entry["id"], where)
            where = f"guard {guard_id}"
            why = self.one_line(entry["why"], f"{where}: why")
            guards.append(Guard(guard_id, self.pattern(entry["pattern"], where), why))
            self.example_set(guard_id, entry["examples"], where, need="no_match")

        history = self.mapping(top["history"], "history", (PAST_ANCHORS, PRESENT_MARKERS))
        markers = {}
        for key in (PAST_ANCHORS, PRESENT_MARKERS):
            markers[key] = self.special(key, history[key], f"history: {key}")

        rules = []
        for n, entry in enumerate(self.entries(top["rules"], "rules")):
            where = f"rules[{n}]"
            entry = self.mapping(
                entry, where, ("id", "category", "pattern", "why", "examples"), ("history",)
            )
            rule_id = self.new_id(entry["id"], where)
            where = f"rule {rule_id}"
            if not isinstance(entry["category"], str) or entry["category"] not in CATEGORIES:
                known = ", ".join(sorted(CATEGORIES))
                raise self.error(where, f"unknown category {entry['category']!r} (known: {known})")
            history_flag = entry.get("history", False)
            if not isinstance(history_flag, bool):
                raise self.error(where, "history must be true or false")
            rule = Rule(
                rule_id,
                entry["category"],
                self.pattern(entry["pattern"], where),
                self.one_line(entry["why"], f"{where}: why"),
                history_flag,
            )
            rules.append(rule)
            self.example_set(rule_id, entry["examples"], where, need="match")

        third_party = self.special(
            THIRD_PARTY_SUBJECT, top["third_party_subject"], THIRD_PARTY_SUBJECT
        )
        return RuleSet(
            vocabulary=MappingProxyType(dict(self.vocabulary)),
            guards=tuple(guards),
            past_anchor=markers[PAST_ANCHORS],
            present_marker=markers[PRESENT_MARKERS],
            rules=tuple(rules),
            third_party_subject=third_party,
            examples=MappingProxyType(dict(self.examples)),
        )

    def special(self, key: str, value: object, where: str) -> re.Pattern[str]:
        entry = self.mapping(value, where, ("why", "pattern"), ("examples",))
        self.one_line(entry["why"], f"{where}: why")
        pattern = self.pattern(entry["pattern"], where)
        self.example_set(key, entry.get("examples"), where, need=None)
        return pattern


RULE_SET: RuleSet = load_rules()
GUARDS: tuple[Guard, ...] = RULE_SET.guards
RULES: tuple[Rule, ...] = RULE_SET.rules
_VOCAB: Mapping[str, str] = RULE_SET.vocabulary
_PAST_ANCHOR = RULE_SET.past_anchor
_PRESENT_MARKER = RULE_SET.present_marker
_THIRD_PARTY_SUBJECT = RULE_SET.third_party_subject
# "I", "I'm", ... between the subject and the match: the person is writing about themselves.
_FIRST_PERSON = re.compile(r"\b(?:i|im|ive|id|ill|myself)\b")


# --------------------------------------------------------------------------
# Applying the rules
# --------------------------------------------------------------------------


def _resolved_history(norm: str) -> bool:
    return bool(_PAST_ANCHOR.search(norm)) and not _PRESENT_MARKER.search(norm)


def _blank_guards(norm: str) -> str:
    for guard in GUARDS:
        norm = guard.pattern.sub(" ~ ", norm)
    return norm


def _category(rule: Rule, text: str, start: int, end: int) -> str:
    if rule.category not in _ADJUSTABLE:
        return rule.category
    for subject in _THIRD_PARTY_SUBJECT.finditer(text, 0, start):
        if not _FIRST_PERSON.search(text, subject.end(), end):
            return TP
    return rule.category


def detect_crisis(text: str) -> CrisisMatch | None:
    """The reviewed pattern layer's verdict on one message (None: no crisis wording found)."""
    if not text or not text.strip():
        return None
    norm = normalise(text)
    resolved_history = _resolved_history(norm)
    guarded = _blank_guards(norm)
    for rule in RULES:
        if rule.history and resolved_history:
            continue
        match = rule.pattern.search(guarded)
        if match:
            return CrisisMatch(_category(rule, guarded, match.start(), match.end()), rule.id)
    return None


def explain(text: str) -> dict[str, object]:
    """For reviewers: the normalised and guarded text and every rule that matches."""
    norm = normalise(text)
    guarded = _blank_guards(norm)
    return {
        "normalised": norm,
        "guarded": guarded,
        "guards": [g.id for g in GUARDS if g.pattern.search(norm)],
        "resolved_history": _resolved_history(norm),
        "rules": [r.id for r in RULES if r.pattern.search(guarded)],
    }
