"""Reviewed phrase/pattern layer of crisis detection (SPEC section 6).

`detect_crisis(text)` returns a `CrisisMatch` (category + stable rule id, for
the audit trail) when a message looks like a crisis, or None. It is one of the
two detection layers (the other is the trained `crisis` intent, see
`bot.safety.detector`). It is pure Python (stdlib `re` and `unicodedata`), so
it works when the model, the action server or the database are down.

Guiding principle: a false positive costs a gentle check-in, a miss can cost a
life. When a wording is ambiguous we flag it; we only refuse to flag through
narrow, documented *guards* for idioms and look-alikes, never by weakening a
rule.

Pipeline
--------
1. `normalise()`: curly quotes to straight, accents stripped (ñ -> n),
   lower-case, leetspeak inside words (k1ll, su1c1dal, k!ll, mys3lf), OD'd /
   OD'ing -> od, apostrophes dropped (don't -> dont, I'm -> im), letters
   repeated 3+ times collapsed (dieeee -> die), punctuation -> spaces, then
   chat spellings expanded (wanna -> want to, gonna -> going to, kil -> kill,
   my self -> myself, wnat -> want, "2" between words -> to, rn -> right now).
   All rules are written against this normalised form.
2. GUARDS: idioms and look-alikes ("dying to know", "killer headache", "this
   wait is killing me", "kill time", "I'd kill for a coffee", "dead tired",
   "shot myself in the foot", "my mom will kill me if...", "disappear to the
   beach", informational questions such as "is ketamine used for suicidal
   depression?", denials such as "I'm not suicidal") are *blanked out* of the
   text. A guard only removes its own span, so "I'm dying to know... also I
   want to die" is still flagged by the second half.
3. HISTORY: a message that anchors itself in the past ("years ago", "when I
   was 17", "in 2015", "used to", "back in college") and has no present-tense
   marker ("again", "lately", "tonight", "are back", "anymore", ...) switches
   off the rules marked `history=True` (the ones describing an event that can
   be past: attempted, suicidal, self-harm, cutting, overdosed). Present-tense
   rules ("I want to kill myself") are never switched off.
4. RULES are tried in order; the first that matches wins. Each has a stable
   id, a category and a one-line reason.
5. If an English rule matched about someone else ("my son says he wants to
   kill himself", "my friend took a bunch of pills") the category becomes
   `third_party` (the rule id is kept).

Categories
----------
suicidal_ideation  direct, indirect, passive wishes to die, slang/misspellings
plan_or_means      plans, methods, means (guns, ropes, bridges), goodbyes
self_harm          cutting, burning, hurting oneself, self-harm urges/relapse
overdose           intent to take all the pills, stockpiling, lethal-dose questions
harm_to_others     intent or intrusive urges to hurt or kill someone
third_party        someone else in danger now, or someone threatening the user
spanish            basic Spanish wording of the above

Judgement calls (agreed labelling policy, see tests/data/crisis_eval.yml)
-------------------------------------------------------------------------
- Jokes are not an excuse: "I want to die lol", "kms" and "kys" are flagged.
  "kmsl" (laughing) and "20 kms" (kilometres) are not.
- Questions *about* treatment or research ("does esketamine help suicidal
  thoughts", "what is the overdose risk") are not flagged; the same question
  with the person's own thoughts ("help with MY suicidal thoughts") is.
- Past, resolved history ("I attempted years ago, doing well now") is not
  flagged; history plus anything current ("...and the thoughts are back") is.
- Someone else's past death (grief, family history, a film) is not flagged;
  someone else in danger now is.
- Hyperbole about the mundane ("I'd rather die than sit in a waiting room")
  is guarded; "I'd rather be dead than keep feeling like this" is not.
- Threats *to* the user ("my ex said he's going to kill me") are flagged
  (category third_party), but "my mom will kill me if she finds out" is an
  idiom (guard `kill_me_if`, which still flags "...if I leave him").
- Ambiguous absence ("I won't be here next week") is flagged unless the same
  sentence explains it with travel or scheduling ("...I'm on vacation, can I
  reschedule?").
- A denial ("I'm not suicidal", "I would never hurt myself", "I don't want
  to die from a bad reaction") is guarded only in those narrow forms; a bare
  "I don't want to die" is still flagged.
- Means are flagged on their own: having or getting a gun, a rope/noose,
  pills in hand, standing on a bridge or roof, "lethal dose" questions.
- Preoccupation with death is flagged even when phrased as a question ("is it
  normal to think about death after a session?"): a check-in is cheap.
- Harm to others needs a person as the object ("kill him", "hurt my baby");
  "kill the spider", "murder this pizza", "could ketamine hurt my baby?" are
  not flagged.

How clinicians add or review a rule
-----------------------------------
1. Add the message that was missed (or wrongly flagged) to
   tests/data/crisis_eval.yml under `crisis:` or `not_crisis:`. Never copy
   evaluation messages into data/nlu training files.
2. Add or widen a `_rule(...)` in RULES below: a new id (never reuse or
   rename an id, the audit trail refers to them), the category, a regex over
   the *normalised* text (`normalise("...")` shows it) and a one-line reason.
   Write the linguistic pattern (verb + object, frame + keyword), not the
   sentence. For a false positive prefer a narrow GUARD over narrowing a rule.
3. Run `python -m bot safety eval` (or the tests in
   tests/test_safety_patterns.py): recall must stay 100%, the
   false-positive rate at or under 5%.
4. A clinician reviews the diff of this file; the review is the sign-off.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


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
    """The canonical form all rules and guards are written against."""
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
# Shared vocabulary (inserted into patterns as <NAME>)
# --------------------------------------------------------------------------

_VOCAB = {
    # suicide / suicidal incl. common misspellings (suicde, sucide, suiside, suicidle, sucidal)
    "SUICIDE": r"(?:su[ie]?[cs]+i?de?|sewerslide|suicidio)",
    "SUICIDAL": r"su[ie]?[cs]+i?d[aei]?l+e?",
    "ADV": (
        r"(?:(?:just|really|fucking|literally|finally|simply|actually|honestly|so|seriously|kinda"
        r"|kind of|lowkey|truly)\s+)*"
    ),
    "THIRDSELF": r"(?:himself|herself|themselves|themself)",
    "PILLNOUN": (
        r"(?:pills?|tablets?|tabs|capsules?|caps|meds|medications?|medicines?|bottles?"
        r"|pill bottles?)"
    ),
    "PILLNAME": (
        r"(?:xanax|tylenol|advil|ibuprofen|acetaminophen|paracetamol|aspirin|ambien|zolpidem"
        r"|lorazepam|ativan|klonopin|clonazepam|valium|diazepam|oxy\w*|percocet|vicodin"
        r"|hydrocodone|benadryl|melatonin|seroquel|quetiapine|lithium|insulin|antidepressants?"
        r"|sleeping pills|sleep meds|painkillers|pain killers|opioids|fentanyl|lexapro|zoloft"
        r"|prozac|wellbutrin|trazodone|gabapentin|benzos?|adderall|tramadol|morphine)"
    ),
    "PEOPLE": (
        r"(?:him|her|them|you|everyone|everybody|someone|somebody|anyone|anybody|people|(?:the"
        r"|those|these|that|all\s+the)\s+(?:people|person|guy|guys|man|men|woman|women|kids?|baby"
        r"|doctors?|nurses?|staff|teachers?|boss|neighbou?rs?|cops?|police|landlord|bitch"
        r"|bastards?|assholes?|fuckers?)|(?:my|his|her|our)\s+(?:\w+\s+)?(?:husband|wife|partner"
        r"|boyfriend|girlfriend|bf|gf|ex|son|sons|daughters?|kids?|children|child|baby|babies"
        r"|newborn|infant|toddler|mom|mum|mother|dad|father|parents?|brothers?|sisters?|siblings?"
        r"|roommates?|boss|coworkers?|colleagues?|neighbou?rs?|friends?|family|teacher|landlord"
        r"|step\w+|grandma|grandpa|grandmother|grandfather|uncle|aunt|cousin|fiancee?|spouse"
        r"|abuser|therapist|doctor|manager|classmates?))"
    ),
    "HARM": (
        r"(?:kill|killing|murder|murdering|hurt|hurting|harm|harming|stab|stabbing|shoot|shooting"
        r"|strangle|strangling|choke|choking|smother|smothering|poison|poisoning|drown|drowning"
        r"|beat up|beating up|attack|attacking|run over|push|pushing|shake|shaking|suffocate"
        r"|suffocating|punch|punching|hit|hitting|slap|slapping)"
    ),
}
_VOCAB_RE = re.compile(r"<([A-Z]+)>")


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(_VOCAB_RE.sub(lambda m: _VOCAB[m.group(1)], pattern))


def _rule(id: str, category: str, pattern: str, why: str, *, history: bool = False) -> Rule:
    return Rule(id, category, _compile(pattern), why, history)


def _guard(id: str, pattern: str, why: str) -> Guard:
    return Guard(id, _compile(pattern), why)


# --------------------------------------------------------------------------
# Guards: idioms and look-alikes, blanked out before the rules run
# --------------------------------------------------------------------------

GUARDS: tuple[Guard, ...] = (
    _guard(
        "dying_to",
        r"\bdying\s+(?:to|for)\s+(?!die\b|death\b|end\b|kill\b|be\s+dead\b)\w+|\b(?:dying|die"
        r"|died)\s+of\s+(?:curiosity|laughter|laughing|embarrassment|boredom|thirst|hunger|heat"
        r"|cold|suspense|shame)\b|\b(?:dying|died|die)\s+(?:laughing|of\s+laughter)\b",
        "'dying to know/try', 'dying of curiosity', 'died laughing'",
    ),
    _guard(
        "laughing_dead",
        r"\b(?:lol|lmao|lmfao|rofl|haha\w*)\s+(?:im\s+)?(?:dying|dead)\b|\b(?:im"
        r"|i\s+am)\s+(?:literally\s+|so\s+)?(?:dying|dead)\s+(?:lol|lmao|lmfao|haha\w*)\b"
        r"|\bkmsl\b|\bkill\w*\s+myself\s+laughing\b",
        "laughing hyperbole: 'lmao im dying', 'kmsl', 'killed myself laughing'",
    ),
    _guard("killer_adj", r"\bkiller\s+\w+", "'killer headache', 'killer deal'"),
    _guard(
        "killing_me_idiom",
        r"\b(?:is|are|its|was|were|youre|keeps?|be|been|thats)\s+killing\s+(?:me|my|our|us|it)\b",
        "'this wait is killing me', 'my feet are killing me'",
    ),
    _guard("kill_time", r"\bkill(?:ing)?\s+(?:some\s+|the\s+|a\s+little\s+)?time\b", "'kill time'"),
    _guard(
        "kill_for",
        r"\b(?:id|i\s+would|would|could)\s+kill\s+for\b|\bkill\s+for\s+(?:a|an|some|the)\b",
        "'I'd kill for a coffee'",
    ),
    _guard("killed_it", r"\bkill(?:ed|ing|s)?\s+it\b(?!\s+all\b)", "'killed it at work' (success)"),
    _guard(
        "kill_objects",
        r"\bkill\w*\s+(?:the\s+|this\s+|that\s+|a\s+|these\s+|those\s+|all\s+the\s+"
        r"|some\s+)?(?:spiders?|bugs?|flies|fly|ants?|roach\w*|cockroach\w*|mosquito\w*|wasps?"
        r"|mice|mouse|rats?|weeds?|germs|bacteria|virus|lights?|music|engine|process|app|tab"
        r"|program|vibe|mood|buzz|battery|two\s+birds)\b",
        "pests, machines, 'kill two birds'",
    ),
    _guard(
        "food_murder",
        r"\b(?:murder|destroy|demolish|kill)\s+(?:this|that|a|some|the|my)\s+(?:pizza|burger"
        r"|food|meal|sandwich|cake|plate|steak|tacos?|coffee|beer|drink|donuts?|ice\s+cream"
        r"|fries|snack|breakfast|lunch|dinner)\b|\b(?:traffic|commute|drive)\s+(?:was"
        r"|is)\s+murder\b",
        "'going to murder this pizza', 'the traffic was murder'",
    ),
    _guard(
        "dead_idioms",
        r"\bdead\s+(?:tired|serious|set|broke|end|wrong|last|center|centre|silent|quiet|beat"
        r"|on)\b|\bdrop\s+dead\s+gorgeous\b|\bover\s+my\s+dead\s+body\b",
        "'dead tired', 'dead serious', 'dead set against'",
    ),
    _guard(
        "to_death_idioms",
        r"\b(?:bored|scared|sick|worried|tickled|frightened|freezing|starving"
        r"|loved?)\s+to\s+death\b|\bthe\s+death\s+of\s+me\b|\bto\s+die\s+for\b",
        "'bored/scared/sick to death', 'the death of me', 'to die for'",
    ),
    _guard(
        "devices_die",
        r"\b(?:phone|battery|laptop|computer|car|plants?|charger|tablet|cell|ipad|iphone"
        r"|headphones?|flowers?)\s+(?:is\s+|was\s+|will\s+|might\s+|about\s+|going\s+"
        r"|just\s+)?(?:\w+\s+){0,2}?(?:die|died|dead|dying)\b",
        "'my phone died', 'battery is dead'",
    ),
    _guard(
        "kill_me_if",
        r"\bkill\s+(?:me|us)\s+(?:if|for|when|once|because|lol|haha\w*|lmao)\b(?!\s+(?:i"
        r"|we)\b\s+(?:leave|left|try|tried|call|called|report|tell|told|go\s+to))",
        "'my mom will kill me if she finds out' (not '...if I leave him')",
    ),
    _guard(
        "shoot_idioms",
        r"\bshoot\s+(?:me|us)\s+(?:an?|the|your|some)\s+(?:email|e\s+mail|text|message|call|line"
        r"|note|dm|pm|link|quote)\b|\bshoot\s+for\b|\bsh[o]?o?t\s+myself\s+in\s+the\s+foot\b"
        r"|\bshoot(?:ing)?\s+(?:a|the|some)\s+(?:photo|video|film|hoops|pool|breeze)\b",
        "'shoot me an email', 'shoot for 9am', 'shot myself in the foot'",
    ),
    _guard(
        "sensation_dying",
        r"\b(?:feel|felt|feeling|feels)\s+like\s+(?:im|i\s+am|i\s+was|i|youre"
        r"|you\s+are)\s+(?:going\s+to\s+die|dying|about\s+to\s+die|going\s+to\s+pass\s+out)\b",
        "'will I feel like I'm going to die during treatment' (a sensation, not a wish)",
    ),
    _guard(
        "rather_die_mundane",
        r"\brather\s+die\s+than\s+(?:sit|wait|pay|eat|drive|fill|watch|listen|call|go\s+to"
        r"|do\s+(?:the|my|this|that)|get\s+up|work|wear|use|take\s+a|deal\s+with\s+(?:insurance"
        r"|traffic|paperwork))\b",
        "'I'd rather die than sit in a waiting room'",
    ),
    _guard(
        "negated_harm",
        r"\b(?:would|will|could)?\s*never\s+(?:ever\s+)?(?:hurt|harm|kill|cut)\s+(?:myself"
        r"|anyone|anybody|someone|my\s+\w+)\b|\b(?:dont|do\s+not|didnt)\s+(?:really\s+)?(?:want"
        r"|mean|intend)\s+to\s+(?:die|hurt|harm|kill|overdose|od)(?:\s+(?:myself|anyone|anybody"
        r"|someone|somebody|people|others|him|her|them|you))?(?=\s+(?:from|by|during|because"
        r"|under|in|on|while|when|if|with|after|of)\b)|\b(?:dont|do\s+not"
        r"|didnt)\s+(?:really\s+)?(?:want|mean|intend)\s+to\s+(?:hurt|harm"
        r"|damage)\s+my\s+(?:stomach|liver|kidneys?|heart|brain|body|baby|health|teeth|back"
        r"|knees?|chances|veins?|bladder|memory)\b",
        "'I would never hurt myself', 'I don't want to hurt my stomach', 'I don't want to die"
        " from a bad reaction' (a bare 'I don't want to die' is still flagged)",
    ),
    _guard(
        "negated_suicidal",
        r"(?<!\bor\s)\b(?:not|no|never|arent|isnt|wasnt"
        r"|werent)\s+(?:\w+\s+)?<SUICIDAL>\b(?:\s+(?:thoughts?|ideation|feelings))?",
        "'I'm not suicidal', 'no suicidal thoughts'",
    ),
    _guard(
        "info_suicidal",
        r"(?<!\bneed\s)(?<!\bget\s)(?<!\bwant\s)(?<!\bhelp\s)\b(?:for|on|about|treats?|treating"
        r"|treated|helps?|helping|reduces?|reducing|causes?|causing|prevents?|preventing"
        r"|increases?|increasing|lowers?|targets?|against|work|works)\s+(?:with\s+|for\s+"
        r"|on\s+)?(?:the\s+)?(?:risk\s+of\s+)?<SUICIDAL>\s+(?:depression|ideation|thoughts?"
        r"|patients|crisis|behaviou?rs?|risk|feelings|tendencies|people|individuals|symptoms"
        r"|veterans|teens|adolescents)\b",
        "questions about treatment: 'is ketamine used for suicidal depression?'",
    ),
    _guard(
        "info_people_suicidal",
        r"\b(?:clients|patients|callers|students|people|persons|those|veterans|individuals|users"
        r"|teens|adolescents|kids|children|someone|anyone|somebody|anybody)\s+(?:who\s+(?:are|is"
        r"|feel|have|get)\s+|that\s+(?:are|is)\s+|with\s+|are\s+|in\s+(?:a\s+)?)?<SUICIDAL>\w*"
        r"|\b(?:clients|patients|callers|people|those|veterans|someone|anyone|somebody"
        r"|anybody)\s+(?:who\s+are\s+)?in\s+(?:a\s+)?crisis\b|\bcrisis\s+of\s+(?:confidence"
        r"|faith|conscience|identity)\b",
        "'people with suicidal thoughts', 'some of my clients are suicidal', 'patients in crisis'",
    ),
    _guard(
        "info_define",
        r"\b(?:what\s+(?:does|is)|whats|define|definition\s+of"
        r"|meaning\s+of)\s+<SUICIDAL>(?:\s+ideation)?\b|\b<SUICIDAL>\s+ideation\s+mean"
        r"|\b(?:do\s+you|does\s+one|do\s+i|do\s+people)\s+(?:have"
        r"|need)\s+to\s+be\s+<SUICIDAL>\s+to\b",
        "'what does suicidal ideation mean', 'do you have to be suicidal to get ketamine'",
    ),
    _guard(
        "es_info",
        r"\b(?:ayuda|ayudan|sirve|funciona|trata|tratan|tratamiento|para|contra|reduce"
        r"|reducen)\s+(?:(?:con|para|a|los|las|en|el|la)\s+)*(?:pensamientos|ideas|ideacion"
        r"|depresion)\s+suicidas?\b",
        "Spanish treatment question: 'la ketamina ayuda con pensamientos suicidas?'",
    ),
    _guard(
        "absence_explained",
        r"\b(?:wont|will\s+not|not\s+going\s+to)\s+be\s+(?:here|around|in|available"
        r"|home)\b(?=.{0,60}\b(?:vacation|holiday|trip|travel\w*|out\s+of\s+town|away|business"
        r"|reschedule\w*|appointment|slot|available|availability|conference|visiting|moving"
        r"|different\s+day|another\s+day|call\s+(?:me|back)|text\s+me)\b)",
        "'I won't be here next week, I'm on vacation'",
    ),
    _guard(
        "dissociation_question",
        r"\b(?:feel|felt|feeling)\s+like\s+(?:i|im)\s+(?:want\s+to\s+|am\s+|was\s+|might\s+"
        r"|will\s+)?(?:disappear|disappearing|vanish\w*)\b(?=\s+(?:during|in\s+the|under|while"
        r"|on\s+(?:the|ketamine)|after\s+(?:the|my)\s+(?:session|infusion|treatment|dose)))",
        "'will I feel like I want to disappear during the session?' (dissociation, not a wish)",
    ),
    _guard(
        "be_gone_by",
        r"\bbe\s+gone\s+(?:by|before|at|for|until|till|from)\b",
        "'I want to be gone by 5'",
    ),
    _guard(
        "disappear_trip",
        r"\bdisappear\s+(?:to|for|on|until|till)\s+(?:the|a|an|my|some)\b",
        "'disappear to the beach for a week'",
    ),
    _guard(
        "end_with", r"\bend(?:ing)?\s+(?:things|it)\s+with\b", "'ending things with my boyfriend'"
    ),
    _guard(
        "wake_early",
        r"\bwake\s+up\s+(?:early|so\s+early|that\s+early|at|before|in\s+time|on\s+time)\b",
        "'I don't want to wake up early for the appointment'",
    ),
    _guard(
        "make_it_appointment",
        r"\bmake\s+it\s+(?:to|on|in|for|back\s+to)\s+(?:my|the|your|an|our|this"
        r"|that)\s+(?:appointment|session|consult\w*|class|work|clinic|office|infusion"
        r"|meeting)\b|\bmake\s+it\s+(?:on|in)\s+time\b",
        "'make it to my appointment'",
    ),
    _guard(
        "regular_meds",
        r"\b(?:take|taking|took)\s+all\s+(?:of\s+)?my\s+(?:regular|usual|normal|daily|morning"
        r"|evening|prescribed|other|current)\s+(?:\w+\s+)?<PILLNOUN>|\b(?:take|taking"
        r"|took)\s+all\s+(?:of\s+)?my\s+<PILLNOUN>\s+(?:\w+\s+){0,3}?(?:like\s+usual|as\s+usual"
        r"|as\s+prescribed|as\s+always|as\s+normal|as\s+directed|like\s+normal|like\s+always"
        r"|the\s+day\s+of|on\s+the\s+day|the\s+morning\s+of|before\s+(?:my|the|an)\s+\w+"
        r"|with\s+food)\b",
        "'Should I take all my regular medications the day of my infusion?'",
    ),
    _guard(
        "benign_cut_burn",
        r"\b(?:cut|burned|burnt|burn|hit|scratched)\s+myself\s+(?:shaving|cooking|chopping"
        r"|slicing|gardening|baking|ironing|accidentally|by\s+accident|while|opening"
        r"|in\s+the\s+kitchen|on\s+(?:a|the|some|my)\b)",
        "'I cut myself shaving', 'burned myself cooking'",
    ),
    _guard("jump_rope", r"\b(?:jump|jumping|skip|skipping)\s+rope\b", "'jump rope'"),
)


# --------------------------------------------------------------------------
# Past-history switch (see module docstring, step 3)
# --------------------------------------------------------------------------

_PAST_ANCHOR = _compile(
    r"\b(?:(?:\d+|a|one|two|three|four|five|six|seven|eight|nine|ten|a\s+few|few|many|several"
    r"|some|a\s+couple\s+of|couple\s+of)\s+)?(?:years?|decades?)\s+ago\b|\blong\s+time\s+ago\b"
    r"|\bwhen\s+i\s+was\s+(?:a\b|an\b|in\b|\d|young|little|younger|small)|\bas\s+a\s+(?:teen"
    r"|teenager|kid|child|young|student)|\bin\s+(?:high\s+school|college|university|my\s+(?:teens"
    r"|20s|30s|40s|twenties|thirties|forties|youth|early|late))\b|\bback\s+in\b|\b(?:in|since"
    r"|around)\s+(?:19|20)\d\d\b|\bused\s+to\b|\b(?:over|more\s+than)\s+(?:a|\d+|one"
    r"|two)\s+(?:decade|years)"
)
_PRESENT_MARKER = _compile(
    r"\b(?:again|lately|recently|these\s+days|this\s+(?:week|month|weekend|morning|afternoon"
    r"|evening|year|time)|tonight|today|right\s+now|starting\s+to|started\s+to|anymore|currently"
    r"|(?:are|is|came|come|coming|keep\s+coming|been\s+coming)\s+back|still\s+(?:have|get|think"
    r"|feel|want|struggle|cut|am|do))\b"
)


def _resolved_history(norm: str) -> bool:
    return bool(_PAST_ANCHOR.search(norm)) and not _PRESENT_MARKER.search(norm)


# --------------------------------------------------------------------------
# Rules (first match wins)
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

RULES: tuple[Rule, ...] = (
    # ---- plans, means, goodbyes -------------------------------------------------
    _rule(
        "pm_goodbye_note",
        PM,
        r"\b(?:<SUICIDE>|goodbye|farewell)\s+(?:notes?|letters?|messages?|videos?|posts?"
        r"|texts?)\b|\b(?:wrote|written|writing|write|left|leaving|sent|sending|send|posted"
        r"|posting|texted|texting|messaged)\s+(?:\w+\s+){0,2}?(?:goodbye|goodbyes|farewell)\b",
        "a suicide note or goodbye message, the person's own or someone else's",
    ),
    _rule(
        "pm_goodbye_forever",
        PM,
        r"\b(?:goodbye|bye|farewell)\s+(?:forever|for\s+good|everyone|world|cruel\s+world)\b"
        r"|\bthis\s+is\s+(?:my\s+)?(?:last|final)\s+(?:message|goodbye|text|words"
        r"|post)\b(?!\s+(?:for|of)\b\s+(?:today|tonight|now|the\s+(?:day|night|week)"
        r"|this\s+\w+))|\bthis\s+is\s+(?:my\s+)?goodbye\b(?!\s+(?:for\s+(?:now|today|tonight"
        r"|the\s+\w+)|until|till)\b)|\b(?:said|saying|say)\s+(?:all\s+)?my\s+goodbyes\b(?!\s+to\s"
        r"+(?:my\s+)?(?:old|previous|former|last)\b)|\bsay(?:ing)?\s+(?:my\s+)?goodbyes?\s+to\s+("
        r"?:everyone|everybody|all\s+of\s+you|the\s+world|my\s+(?:family|kids|children|friends"
        r"|loved\s+ones|parents|wife|husband))\b",
        "final goodbyes ('this is my last message', 'goodbye forever')",
    ),
    _rule(
        "pm_giving_away",
        PM,
        r"\b(?:giving|gave|given|give)\s+away\s+(?:all\s+)?(?:of\s+)?(?:my|his"
        r"|her)\s+(?:\w+\s+)?(?:things|stuff|belongings|possessions|pets?|dog|cat|clothes"
        r"|money)\b|\b(?:giving|gave|given|give)\s+(?:all\s+)?my\s+(?:things|stuff|belongings"
        r"|possessions)\s+away\b|\bgave\s+my\s+(?:dog|cat|pets?)\s+(?:away|to)\b"
        r"|\bmy\s+affairs\s+in\s+order\b",
        "giving away possessions / putting affairs in order",
    ),
    _rule(
        "pm_plan",
        PM,
        r"\b(?:made|have|got|making|finali[sz]ed|formed)\s+(?:a|my"
        r"|the)\s+plan\b(?=\s+(?:and\s+(?:picked|set|chose|chosen|have)|to\s+(?:end|kill|die"
        r"|do\s+it|take|overdose|od|jump|hang|shoot))|$)|\b(?:picked|chose|chosen|set"
        r"|found)\s+(?:a|the)\s+(?:date|day|time|place|spot|method)\s+and\s+(?:a\s+"
        r"|the\s+)?(?:time|date|day|place|spot|method)\b(?!\s+for\b)|\b(?:picked|chose|chosen"
        r"|set|found)\s+(?:a|the)\s+(?:date|day|time|place|spot|method)\s+to\s+(?:do\s+it|die"
        r"|end\s+it)\b|\bhow\s+(?:id|i\s+would|i\s+will|ill|im\s+going\s+to|i\s+am\s+going\s+to"
        r"|i\s+could|i\s+might)\s+(?:do|end)\s+it\b",
        "a plan, a date, or how they would do it",
    ),
    _rule(
        "pm_gun",
        PM,
        r"\b(?:have|has|had|bought|buy|buying|got|get|getting|grab\w*|hold\w*|load\w*|with|keep"
        r"|keeps|kept|where|own|owns|found)\b(?:\s+\w+){0,3}?\s+(?:guns?|pistols?|rifles?"
        r"|firearms?|shotguns?|handguns?|revolvers?)\b",
        "access to a firearm (means)",
    ),
    _rule(
        "pm_rope",
        PM,
        r"(?<!\bjump\s)(?<!\bskip\s)\b(?:rope|roping|noose)\b",
        "rope/noose, incl. slang 'might just rope'",
    ),
    _rule(
        "pm_location",
        PM,
        r"\b(?:standing|sitting|up|on|at)\s+(?:on|at)\s+(?:the|a|this)\s+(?:edge\s+of|ledge"
        r"|bridge|roof|rooftop|cliff|tracks|railroad|train\s+tracks|railing|overpass)\b|\b(?:im"
        r"|i\s+am)\s+(?:at|on|by|near|under|standing\s+on)\s+(?:the|a)\s+(?:bridge|edge|ledge"
        r"|cliff|tracks|train\s+tracks|railroad|roof|rooftop)\b(?!\s+(?:street|road|avenue|st|rd"
        r"|ave|clinic|cafe|restaurant)\b)",
        "at a high place / tracks right now",
    ),
    _rule(
        "pm_jump",
        PM,
        r"\b(?:jump\w*|leap\w*|step\w*|walk\w*|throw\w*\s+myself|yeet\w*\s+myself"
        r"|fling\w*\s+myself|hurl\w*\s+myself)\s+(?:off|from|in\s+front\s+of|into|under"
        r"|out\s+of)\s+(?:a|the|this|my|that|an)?\s*(?:roof|rooftop|bridge|building|cliff"
        r"|balcony|train|bus|truck|car|traffic|overpass|window|ledge|tracks|highway|subway)\b"
        r"|\b(?:want|wanna|going|about|ready|gonna|urge|tempted)\s+to\s+jump\b(?!\s+(?:in|on"
        r"|into|at|through|start|right|ahead|back|the\s+gun|to\s+conclusions|ship|rope|around|up"
        r"|over|the\s+queue|the\s+line|straight)\b)",
        "jumping from a height or in front of a vehicle, 'I want to jump'",
    ),
    _rule(
        "pm_vehicle",
        PM,
        r"\b(?:drive|driving|drove|crash|crashing|steer|steering|swerve"
        r"|swerving)\s+(?:my\s+car\s+|the\s+car\s+|myself\s+)?(?:into|off)\s+(?:a|the"
        r"|on\w*)\s*(?:tree|wall|bridge|cliff|traffic|pole|river|lake|ocean|barrier|truck"
        r"|oncoming)\b|\b(?:going|want|wanna|plan\w*|thinking\s+(?:about|of)|tempted"
        r"|about)\s+(?:to\s+)?(?:crash|crashing|wreck|wrecking)\s+(?:my|the)\s+car\b",
        "crashing a car on purpose",
    ),
    _rule(
        "pm_method_self",
        PM,
        r"\b(?:drown\w*|hang\w*|shoot\w*|shot|stab\w*|poison\w*|suffocat\w*|strangl\w*"
        r"|electrocut\w*|starv\w*|smother\w*|overdos\w*|slit\w*|slash\w*|neck|necking|off|offing"
        r"|end|ending|unalive\w*)\s+myself\b",
        "a method applied to oneself ('hang myself', 'off myself', 'end myself')",
    ),
    _rule(
        "pm_use_on_self",
        PM,
        r"\b(?:use|using|turn|turning|point|pointing)\s+(?:it|them|that|this|the\s+\w+|a\s+\w+"
        r"|my\s+\w+)\s+on\s+myself\b|\b(?:knife|knives|blade|blades|razor"
        r"|razors)\b(?=.{0,40}\bmyself\b)|\b(?:holding|have|got|bought|grabbed)\s+(?:a|the"
        r"|my)\s+(?:razor|blade|knife|razor\s+blade)\s+(?:\w+\s+){0,2}?(?:right\s+now"
        r"|in\s+my\s+hand|ready|next\s+to\s+me|tonight)\b",
        "a weapon or means turned on oneself / in hand",
    ),
    _rule(
        "pm_wrists",
        PM,
        r"\bslit\w*\s+(?:my|his|her|their)\s+(?:wrists?|throat)|\b(?:cut|cutting"
        r"|slash\w*)\s+(?:my|his|her|their)\s+(?:wrists?|throat|veins?)\b",
        "cutting wrists/throat",
    ),
    _rule(
        "pm_ways_to_die",
        PM,
        r"\b(?:ways?|methods?|how|best\s+way|easiest\s+way|quickest\s+way"
        r"|fastest\s+way)\s+to\s+(?:die|kill\s+(?:myself|<THIRDSELF>|yourself|oneself|someone)"
        r"|end\s+(?:(?:my|his|her|their|your)\s+(?:own\s+)?life|it\s+all)|commit\s+<SUICIDE>"
        r"|<SUICIDE>|not\s+wake\s+up|overdose|od|hang|go\s+painlessly)\b",
        "researching methods ('looking up ways to die')",
    ),
    _rule(
        "pm_lethality",
        PM,
        r"\b(?:painless(?:ly)?|peaceful(?:ly)?|quick(?:est)?|easi(?:est|ly)|fastest"
        r"|least\s+painful|surest)\s+way\s+to\s+(?:go\b(?!\s+(?:to|there|about|from|in|for|with"
        r"|home|back|through|get)\b)|die|do\s+it|end\s+it|kill|pass)|\bmost\s+(?:lethal"
        r"|deadly)\b|\b(?:lethal|fatal|deadly)\s+(?:dose|amount|combination|overdose)\b"
        r"|\bwhich\s+(?:\w+\s+){0,2}(?:are|is)\s+(?:the\s+)?(?:most\s+)?(?:lethal|deadly"
        r"|fatal)\b|\bbleed\s+(?:out|to\s+death)\b|\bbled\s+out\b",
        "asking about lethality or the least painful way",
    ),
    _rule(
        "pm_pills_ready",
        PM,
        r"\b<PILLNOUN>\s+(?:\w+\s+){0,2}?(?:in\s+my\s+hand|in\s+front\s+of\s+me|lined\s+up"
        r"|counted\s+out)|\b(?:lined|counted|laid)\s+(?:up|out)\s+(?:all\s+)?(?:my"
        r"|the)?\s*<PILLNOUN>",
        "pills in hand / laid out",
    ),
    _rule(
        "pm_not_safe",
        PM,
        r"\bnot\s+safe\s+(?:right\s+now|tonight|today|anymore|with\s+myself|around\s+myself"
        r"|alone|by\s+myself|at\s+home)\b|\b(?:im|i\s+am)\s+not\s+safe\b(?!\s+(?:to\s+drive"
        r"|driving|for)\b)|\b(?:cant|cannot|can\s+not|unable\s+to|not\s+able\s+to"
        r"|dont\s+know\s+(?:if|how)|how\s+(?:much\s+)?long(?:er)?|no\s+longer"
        r"|not\s+sure\s+(?:if\s+)?i\s+can)\b(?:\s+\w+){0,4}?\s+keep\s+(?:myself|me)\s+safe\b",
        "cannot keep themselves safe",
    ),
    _rule(
        "pm_something_stupid",
        PM,
        r"\bsomething\s+(?:stupid|drastic|dumb|bad|crazy|permanent|irreversible)\s+to\s+myself\b"
        r"|\b(?:about|going|tempted|afraid|scared|might"
        r"|could)\s+(?:to\s+)?(?:\w+\s+)?do\s+something\s+(?:stupid|drastic|permanent"
        r"|irreversible)\b",
        "'about to do something stupid to myself'",
    ),
    # ---- suicidal ideation: direct ----------------------------------------------
    _rule(
        "si_kill_self",
        SI,
        r"(?<!\btried\sto\s)(?<!\battempted\sto\s)\bkill(?:s|ed|ing)?\s+myself\b",
        "'kill myself' in any tense (misspellings/leet normalised)",
    ),
    _rule(
        "si_attempt",
        SI,
        r"\b(?:tried|attempted|attempt|try|trying)\s+to\s+(?:kill\s+myself"
        r"|end\s+my\s+(?:own\s+)?life|take\s+my\s+(?:own\s+)?life|commit\s+<SUICIDE>|overdose|od"
        r"|hang\s+myself)\b|\b(?:i|ive|i\s+have|i\s+had)\s+(?:\w+\s+)?attempted\b(?!\s+to\s+(?!ki"
        r"ll|end|take|commit|overdose|od|hang))|\battempted\s+<SUICIDE>",
        "a suicide attempt (switched off for resolved past history)",
        history=True,
    ),
    _rule(
        "si_slang",
        SI,
        r"(?<![0-9]\s)\b(?:kms|kys|ctb|unaliv\w*|sewerslide\w*|self\s+delet\w*|sewer\s+side"
        r"|toaster\s+bath)\b",
        "slang/algospeak: kms, kys, ctb, unalive, sewerslide, self delete ('20 kms' is distance)",
    ),
    _rule(
        "si_suicide_thoughts",
        SI,
        r"\b(?:think\w*|thought|talk\w*|consider\w*|contemplat\w*|obsess\w*|dream\w*"
        r"|fantasi[sz]\w*|plan\w*|fixat\w*|ruminat\w*|research\w*|googl\w*|look\w*\s+up"
        r"|threat\w*)\s+(?:about\s+|of\s+|on\s+|into\s+)?(?:committing\s+)?<SUICIDE>\b(?!\s+(?:pr"
        r"evention|risk|rates?|warnings?|hotlines?|awareness|walk|research|stud(?:y|ies)"
        r"|statistics|survivors?|loss|is\s+painless|squad)\b)|\b(?:having|have|had|get|getting"
        r"|got|keep\s+having|been\s+having|with|constant|daily)\s+(?:\w+\s+)?(?:thoughts?|ideas?"
        r"|urges?|feelings?)\s+(?:of|about)\s+(?:<SUICIDE>|killing\s+myself|ending\s+(?:it"
        r"|my\s+life)|dying|death|self\s+harm\w*|hurting\s+myself|cutting)\b"
        r"|\b<SUICIDE>\s+(?:seems|is|feels|looks|sounds)\s+(?:like\s+)?(?:the|my|an|a)\s+(?:only"
        r"|best|good|real|easy)\b|\b<SUICIDE>\s+(?:is\s+)?(?:looking"
        r"|sounding)\s+(?:\w+\s+)?(?:good|nice|better)\b|\b(?:to|going\s+to|might|will"
        r"|ill)\s+commit\s+<SUICIDE>\b|\b(?:want|wants|going|ready|plan\w*|about|try\w*|decided"
        r"|tempted)\s+to\s+<SUICIDE>\b|\b(?:<SUICIDE>|dying|death|killing\s+myself|ending\s+it"
        r"|ending\s+my\s+life)\s+(?:\w+\s+){0,2}?(?:crossing|crosses|crossed|on|in)\s+my\s+mind\b",
        "thinking/talking about suicide, having thoughts of suicide",
    ),
    _rule(
        "si_suicidal",
        SI,
        r"\b<SUICIDAL>\b|\bmy\s+<SUICIDE>\s+(?:note|plan|attempt)\b",
        "the word 'suicidal' (after guards for questions, denials and other people)",
        history=True,
    ),
    _rule(
        "si_want_die",
        SI,
        r"\b(?:want|wants|wanted|wanting|wish|wishes|wished|wishing|hope|hoping|ready|going"
        r"|deserve|deserves|need|needs|longing|long|would\s+like|id\s+like|prefer|trying|try"
        r"|plan|planning|praying|pray|love|just)\s+(?:to\s+)?<ADV>(?:die|be\s+dead)\b|\b(?:hope"
        r"|hoping|wish|wishing|pray|praying)\s+(?:that\s+)?i\s+<ADV>(?:die|died|was\s+dead"
        r"|were\s+dead)\b|\b(?:feel|feels|feeling)\s+like\s+<ADV>(?:dying|to\s+die"
        r"|i\s+want\s+to\s+die)\b",
        "wanting/ready/deserving to die; 'feel like dying'",
    ),
    _rule(
        "si_wish_dead",
        SI,
        r"\b(?:wish|wishes|wished|wishing)\s+(?:that\s+)?(?:i|he|she|they|we)\s+(?:was|were"
        r"|had\s+been|could\s+be|would\s+be)?\s*(?:dead|gone\s+forever|not\s+alive"
        r"|never\s+born)\b|\b(?:wish|wishes|wished|wishing)\s+(?:that\s+)?(?:i|he|she"
        r"|they)\s+(?:wasnt|werent|was\s+not|were\s+not)\s+(?:alive|here|around|born)\b"
        r"|\b(?:wish|wishes|wished)\s+(?:that\s+)?(?:i|id|he|hed|she|shed|they"
        r"|theyd)\s+(?:had\s+)?never\s+(?:been\s+born|existed|woken\s+up|woke\s+up)|\b(?:wish"
        r"|wishes)\s+(?:that\s+)?(?:i|he|she)\s+(?:could|would)\s+<ADV>(?:die|disappear"
        r"|stop\s+existing|not\s+exist|not\s+wake\s+up|vanish)",
        "wishing to be dead / never born / to stop existing",
    ),
    _rule(
        "si_better_dead",
        SI,
        r"\b(?:better\s+off|rather\s+be|prefer\s+to\s+be|happier|easier)\s+dead\b"
        r"|\brather\s+(?:die|not\s+exist|not\s+be\s+alive|not\s+wake\s+up)\b"
        r"|\bbetter\s+off\s+(?:not\s+(?:existing|alive|here|around|being\s+(?:here|alive"
        r"|around))|gone|never\s+born)\b",
        "'better off dead', 'rather be dead'",
    ),
    _rule(
        "si_better_without",
        SI,
        r"\b(?:better|happier|easier)\s+(?:off\s+)?without\s+(?:me|him|her)\b|\b(?:better"
        r"|happier|easier|relieved)\s+(?:off\s+)?(?:for\s+\w+\s+)?if\s+(?:i|he"
        r"|she)\s+(?:just\s+)?(?:was\s+gone|were\s+gone|was\s+dead|were\s+dead|died|disappeared"
        r"|wasnt\s+(?:here|around|alive)|werent\s+(?:here|around|alive)|didnt\s+exist"
        r"|never\s+existed|was\s+never\s+born|left\s+for\s+good|killed\s+\w+self)\b|\b(?:easier"
        r"|better)\s+(?:to\s+)?(?:just\s+)?(?:not\s+(?:be|being|exist|existing|wake|waking)|die"
        r"|be\s+dead|disappear)\b",
        "'everyone would be better off without me' (also said of someone else)",
    ),
    _rule(
        "si_if_gone",
        SI,
        r"\b(?:notice|care|cared|miss\s+me|matter|mind)\w*\s+if\s+i\s+(?:was\s+|were\s+"
        r"|just\s+)?(?:gone|dead|died|disappeared|wasnt\s+here|killed\s+myself|didnt\s+wake\s+up"
        r"|never\s+woke\s+up)\b|\bif\s+i\s+(?:live|lived)\s+or\s+(?:die|died)\b|\b(?:wouldnt"
        r"|would\s+not|dont|do\s+not)\s+(?:care|mind)\s+if\s+(?:i|a|the"
        r"|some)\b(?:\s+\w+){0,3}?\s+(?:died|die|dead|hit|killed|crashed|didnt\s+wake"
        r"|never\s+woke)\b|\bif\s+i\s+(?:died|was\s+dead|were\s+dead|didnt\s+wake\s+up"
        r"|never\s+woke\s+up)\b(?:\s+\w+){0,4}?\s+(?:relieved|relief|glad|happy|fine|peace"
        r"|wouldnt\s+mind|wouldnt\s+care|dont\s+care)\b|\b(?:no\s+one|nobody|noone"
        r"|none\s+of\s+them)\s+(?:would|will|is\s+going\s+to)\s+(?:even\s+)?(?:miss|mourn"
        r"|remember)\s+me\b",
        "'nobody would notice if I was gone', 'no one would miss me', 'wouldn't mind if I didn't"
        " wake up'",
    ),
    _rule(
        "si_hit_by",
        SI,
        r"\b(?:hope|hoping|wish|wishing|pray|praying|want|wouldnt\s+(?:care|mind)"
        r"|dont\s+care)\b(?:\s+\w+){0,4}?\s+(?:hit\s+by|run\s+over|killed\s+by|struck\s+by"
        r"|hit\s+me|hits\s+me|run\s+me\s+over)\b",
        "passive wish to be killed ('hope I get hit by a bus')",
    ),
    _rule(
        "si_wake",
        SI,
        r"\b(?:hope|hoping|hoped|wish|wishing|pray|praying|want|wanting|rather|would\s+like"
        r"|id\s+like|prefer)\s+(?:that\s+)?(?:i\s+)?(?:just\s+)?(?:dont|didnt|do\s+not|never"
        r"|wouldnt|wont|not\s+to|to\s+not|to\s+never)\s+wake\s+up\b|\b(?:dont|do\s+not"
        r"|never)\s+want\s+to\s+wake\s+up\b|\b(?:sleep|asleep"
        r"|bed)\s+(?:and\s+)?(?:just\s+)?(?:never|not)\s+(?:wak(?:e|ing)\s+up|come\s+back)\b"
        r"|\bto\s+(?:not|never)\s+wake\s+up\b|\b(?:sleep|asleep)\s+forever\b"
        r"|\bnever\s+wake\s+up\s+again\b",
        "not wanting to wake up / sleep forever ('wake up early' is guarded)",
    ),
    _rule(
        "si_end_life",
        SI,
        r"(?<!\btried\sto\s)(?<!\battempted\sto\s)\b(?:end|ending|take|taking|quit"
        r"|quitting)\s+my\s+(?:own\s+)?life\b(?!\s+(?:savings|insurance|history|story|back)\b)",
        "ending/taking my (own) life",
    ),
    _rule(
        "si_end_it",
        SI,
        r"(?<!\bthe\s)\b(?:end|ending)\s+(?:it|it\s+all|things|everything|this\s+life"
        r"|my\s+suffering|the\s+pain)\b(?!\s+(?:with|early|off|up|on|there|here|for\s+(?:today"
        r"|now)|properly|sooner)\b)|\bwant\w*\s+(?:it|this|everything|my\s+life|life"
        r"|it\s+all)\s+(?:all\s+)?to\s+(?:end|be\s+over|stop)\b|\b(?:pain|it|everything"
        r"|suffering)\s+to\s+(?:stop|end)\s+(?:forever|for\s+good|permanently)\b"
        r"|\b(?:disappear\w*|vanish\w*|stop)\s+(?:forever|for\s+good|permanently)\b",
        "'end it all', 'ending things', 'want it to be over', 'disappear forever'",
    ),
    _rule(
        "si_disappear",
        SI,
        r"\b(?:want|wanna|wish|wishing|like|need|could"
        r"|just)\s+(?:to\s+)?(?:just\s+)?(?:disappear|vanish|stop\s+existing|cease\s+to\s+exist"
        r"|not\s+exist|evaporate)\b|\bdisappear\w*\s+and\s+never\s+(?:come|coming)\s+back\b"
        r"|\b(?:want|wanna|wish|ready|need)\s+(?:to\s+)?(?:just\s+)?be\s+gone\b|\bnot\s+(?:be"
        r"|being|exist|existing)\s+(?:here\s+|around\s+|alive\s+)?(?:anymore|any\s+more"
        r"|any\s+longer|at\s+all)\b",
        "wanting to disappear / stop existing / be gone ('disappear to the beach' is guarded)",
    ),
    _rule(
        "si_dont_want_live",
        SI,
        r"\b(?:dont|do\s+not|doesnt|does\s+not|didnt|no\s+longer|never|not)\s+(?:really\s+"
        r"|even\s+)?(?:want|wanna|wants|wish|care)\s+to\s+(?:live|be\s+alive|exist|be\s+here"
        r"|be\s+around|go\s+on|keep\s+living|keep\s+going|carry\s+on|wake\s+up|see\s+tomorrow"
        r"|stay\s+alive)\b(?!\s+(?:in|at|near|on|there|far|close|for|when|if|early|late|before"
        r"|after|all\s+day|too\s+long|longer|with\s+(?:my|a|an|him|her|them|roommates?|parents?"
        r"|family|someone)|alone\s+in|vacation|holiday)\b)|\b(?:dont|do\s+not|doesnt|no\s+longer"
        r"|never)\s+feel\s+like\s+(?:living|being\s+alive|existing|going\s+on|waking\s+up"
        r"|being\s+here)\b",
        "'I don't want to live/be alive/be here anymore' (also of someone else)",
    ),
    _rule(
        "si_no_reason",
        SI,
        r"\b(?:no|any|zero|without\s+a|lost\s+(?:my|the|all))\s+(?:more\s+)?(?:reason|reasons"
        r"|point|purpose|will|desire|motivation)\s+(?:to|in|of|for)\s+(?:live|living|life"
        r"|go(?:ing)?\s+on|be(?:ing)?\s+alive|keep(?:ing)?\s+(?:going|living|trying)"
        r"|carry(?:ing)?\s+on|exist(?:ing)?|wak(?:e|ing)\s+up|stay(?:ing)?\s+alive"
        r"|be(?:ing)?\s+here)\b|\bpoint\s+(?:of|in|to)\s+(?:living|life|being\s+alive|going\s+on"
        r"|existing|waking\s+up|carrying\s+on|live|stay(?:ing)?\s+alive)\b"
        r"|\bno\s+point\s+(?:anymore|any\s+more|in\s+anything|to\s+anything)\b"
        r"|\bwhats\s+the\s+point\s+(?:anymore|any\s+more|of\s+anything|in\s+anything"
        r"|of\s+it\s+all)\b|\bnothing\s+(?:left\s+)?to\s+live\s+for\b"
        r"|\bnothing\s+(?:left\s+)?for\s+me\s+(?:here|anymore|in\s+this\s+world|in\s+life)\b"
        r"|\b(?:life|living|my\s+life)\s+(?:has|holds)\s+no\s+(?:meaning|point|purpose|value)\b"
        r"|\b(?:life|living|my\s+life|it)\s+(?:isnt|is\s+not|aint|not|wasnt)\s+worth\s+living\b"
        r"|\b(?:life|my\s+life)\s+(?:isnt|is\s+not|aint|not)\s+worth\s+it\b"
        r"|\bnot\s+worth\s+(?:living|being\s+alive|saving)\b",
        "no reason to live, life not worth living",
    ),
    _rule(
        "si_tired_of_life",
        SI,
        r"\b(?:tired|sick|done|over|exhausted|weary|finished|fed\s+up)\s+(?:of\s+|with\s+"
        r"|from\s+)?(?:living|being\s+alive|life|existing|this\s+life|my\s+life|being\s+here"
        r"|everything|it\s+all)\b(?!\s+(?:in|at|here|there|near|on|paycheck|abroad"
        r"|alone\s+in)\b)|\bhate\s+(?:being\s+alive|living|existing|my\s+existence"
        r"|waking\s+up(?!\s+(?:early|so\s+early|at|before|for)\b)|that\s+i\s+woke\s+up)\b"
        r"|\b(?:life|living|my\s+life|existence|being\s+alive)\s+(?:is|feels|seems)\s+(?:so\s+"
        r"|completely\s+|totally\s+|just\s+)?(?:pointless|meaningless|worthless"
        r"|not\s+worth\s+it)\b",
        "'tired of living', 'done with life', 'life is pointless', 'so over living', 'hate being"
        " alive'",
    ),
    _rule(
        "si_cant_go_on",
        SI,
        r"\b(?:cant|cannot|can\s+not|couldnt|unable\s+to|not\s+able\s+to|dont\s+(?:think"
        r"|know\s+if)\s+i\s+can)\s+(?:go\s+on\b(?!\s+(?:a|an|the|my|vacation|holidays?|trips?"
        r"|leave|medication|meds|birth\s+control|this|that|it|them|with|at|in|to|mondays?"
        r"|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|weekends?|weekdays?"
        r"|dates?|tour|stage|air|line)\b)|keep\s+going\b(?!\s+(?:back|to|with|over|through|in|on"
        r"|out|for|and|into|there|here)\b)|carry\s+on\b|hold\s+on\b|keep\s+living\b|take\s+(?:it"
        r"|this|the\s+pain|this\s+pain)\s+(?:anymore|any\s+more|any\s+longer)|take\s+much\s+more"
        r"|do\s+(?:this|it)\s+(?:anymore|any\s+more|any\s+longer)|live\s+like\s+this"
        r"|face\s+(?:another\s+day|tomorrow))|\bhow\s+(?:much\s+)?long(?:er)?\s+(?:i\s+can"
        r"|can\s+i|i\s+will|ill|i\s+could|im\s+going\s+to)\s+(?:hold\s+on|keep\s+going|go\s+on"
        r"|take\s+(?:it|this)|last|survive|stay\s+alive|hang\s+on|be\s+around)\b"
        r"|\bya\s+no\s+aguanto\b",
        "'I can't go on', 'can't do this anymore' ('can't go on vacation' excluded)",
    ),
    _rule(
        "si_not_around",
        SI,
        r"\b(?:wont|will\s+not|not\s+going\s+to|dont\s+plan\s+on|not\s+planning\s+on"
        r"|dont\s+expect\s+to|dont\s+think\s+ill|dont\s+think\s+i\s+will|might\s+not"
        r"|may\s+not)\s+(?:be|being)\s+(?:around|here|alive)\b|\b(?:be\s+(?:around|here|alive"
        r"|a\s+(?:problem|burden))|last|make\s+it|hold\s+on"
        r"|stick\s+around)\s+(?:\w+\s+){0,3}?(?:much|very|a\s+lot)\s+longer\b|\b(?:not\s+sure"
        r"|dont\s+think|doubt|dont\s+know\s+if|might\s+not|may\s+not|wont"
        r"|in\s+case)\s+(?:if\s+)?(?:i\s+|ill\s+|i\s+will\s+|i\s+can\s+|im\s+going\s+to\s+"
        r"|i\s+dont\s+)?(?:make\s+it|survive)\b(?!\s+(?:today|tomorrow|on\s+time|in\s+time|there"
        r"|by|at|in\b)\b)|\b(?:wont|will\s+not|not\s+going\s+to)\s+be\s+a\s+(?:problem|burden"
        r"|bother)\s+(?:to|for)\s+(?:anyone|anybody|you|everyone|everybody|them|my\s+\w+)\b"
        r"|\bin\s+case\s+(?:im|i\s+am)\s+(?:dead|not\s+(?:here|around)\s+(?:anymore|any\s+more"
        r"|any\s+longer))\b|\b(?:letters?|notes?|messages?|videos?)\s+(?:to"
        r"|for)\s+(?:\w+\s+){0,4}?in\s+case\s+(?:im|i\s+am|i\s+was|i\s+dont|i\s+die)\b",
        "won't be around / not sure I'll make it (travel/scheduling is guarded)",
    ),
    _rule(
        "si_no_future",
        SI,
        r"\b(?:dont|do\s+not|cant|cannot|no\s+longer|never)\s+see\s+(?:a|any"
        r"|much\s+of\s+a)\s+(?:future|way\s+forward|way\s+out)\b|\bno\s+future\s+for\s+me\b"
        r"|\b(?:only|no\s+other|no)\s+way\s+out\b(?!\s+of\s+(?:the|this|my|your|a)\s+(?:contract"
        r"|lease|subscription|parking|building|plan|agreement|appointment|lot|garage))"
        r"|\b(?:except|but|besides|other\s+than)\s+(?:dying|death|to\s+die|<SUICIDE>"
        r"|killing\s+myself)\b",
        "no future / no way out",
    ),
    _rule(
        "si_death_thoughts",
        SI,
        r"\b(?:think\w*|thought|obsess\w*|dream\w*|fantasi[sz]\w*|daydream\w*"
        r"|fixat\w*)\s+(?:about|of|on)\s+(?:death|dying|being\s+dead|not\s+being\s+(?:here|alive"
        r"|around)|not\s+existing|my\s+(?:own\s+)?(?:death|funeral))\b|\b(?:want|crave"
        r"|long\s+for|wish\s+for|welcome|embrace|pray\s+for|hope\s+for)\s+death\b|\b(?:picture"
        r"|picturing|imagine|imagining|planning|plan|planned"
        r"|visuali[sz]\w*)\s+my\s+(?:own\s+)?(?:funeral|death|grave|obituary)\b",
        "preoccupation with one's own death / funeral",
    ),
    _rule(
        "si_god_take_me",
        SI,
        r"\b(?:god|jesus|the\s+lord|lord)\s+(?:would\s+|will\s+|to\s+"
        r"|could\s+)?(?:just\s+)?(?:take|takes|took)\s+me\b(?!\s+(?:to|through|in|out|back"
        r"|under)\b)|\b(?:hope|hoping|wish|pray\w*)\s+(?:that\s+)?(?:this|today|tonight)\s+(?:is"
        r"|will\s+be)\s+my\s+(?:last|final)\s+(?:day|night)\b(?!\s+(?:at|of|on|in|with"
        r"|before)\b)|\bmy\s+(?:last|final)\s+(?:day|night)\s+(?:alive|on\s+earth)\b",
        "praying to be taken, hoping today is the last day",
    ),
    _rule(
        "si_burden",
        SI,
        r"\b(?:im|i\s+am|being|feel\s+like)\s+(?:\w+\s+){0,3}?burden\b|\b(?:the\s+world|everyone"
        r"|nobody|no\s+one)\s+(?:doesnt|does\s+not|wouldnt|would\s+not"
        r"|dont)\s+(?:even\s+)?need\s+me\b",
        "feeling like a burden (a core risk factor)",
    ),
    _rule(
        "si_recurrence",
        SI,
        r"\b(?:thoughts?|urges?|feelings?|ideation|cravings?)\s+(?:are|is|have|has|came|come"
        r"|keep|started|start)\s+(?:\w+\s+)?(?:back|returning|coming\s+back)\b|\b(?:feel|feeling"
        r"|felt)\s+(?:that\s+way|like\s+that|like\s+doing\s+it)\s+again\b|\b(?:scared|afraid"
        r"|worried|terrified)\s+(?:that\s+)?(?:ill|i\s+will|i\s+might|im\s+going\s+to"
        r"|i\s+could)\s+(?:try|do\s+it)\s+again\b",
        "past crisis coming back now ('the thoughts are back')",
    ),
    _rule(
        "si_in_crisis",
        SI,
        r"\b(?:im|i\s+am|is|are|hes|shes|theyre)\s+(?:in\s+)?(?:a\s+)?(?:mental\s+health\s+)?cris"
        r"is\b|\bin\s+crisis\b",
        "'I'm in crisis', 'my sister is in crisis'",
    ),
    _rule(
        "si_bare_keyword",
        SI,
        r"^(?:i\s+)?(?:<SUICIDE>|self\s+harm|overdose|od|kill\s+me|want\s+to\s+die)$",
        "the whole message is just 'suicide' / 'self harm' / 'overdose'",
    ),
    # ---- self-harm ---------------------------------------------------------------
    _rule(
        "sh_intent",
        SH,
        r"\b(?:want|wanna|wants|need|needs|going|urge|urges|itching|tempted|trying|about|started"
        r"|start|keep\s+wanting)\s+to\s+(?:cut|hurt|harm|burn|scratch|hit|punish|bruise|mutilate"
        r"|starve)\s+(?:myself|my\s+(?:arms?|wrists?|legs?|thighs?|skin|body|stomach|face))\b"
        r"|\b(?:want|wanna|need|urge|urges|itching|tempted|going)\s+to\s+cut\b(?!\s+(?:back|down"
        r"|out|off|in|up|the|my|your|it|ties|costs?|carbs|sugar|alcohol|caffeine|coffee|class"
        r"|school|corners|hair|a|an|some|that|this|him|her|them|you|loose)\b)|\b(?:i\s+(?:might"
        r"|may|could|will|would|am\s+going\s+to)|ill|id)\s+(?:just\s+|end\s+up\s+)?(?:cut|hurt"
        r"|harm|burn)\w*\s+myself\b",
        "wanting/urge to cut or hurt oneself; 'I might hurt myself'",
    ),
    _rule(
        "sh_ongoing",
        SH,
        r"\b(?:cutting|hurting|harming|burning|scratching|hitting|punching|punishing|starving"
        r"|bruising|mutilating|carving|biting)\s+(?:myself|<THIRDSELF>)\b|\b(?:cut|burned|burnt"
        r"|hit|scratched|carved)\s+myself\b|\b(?:i|ive|i\s+have|been|keep|kept|started"
        r"|start)\s+(?:been\s+)?(?:cut|cutting|burn|burned|burnt|burning|scratching|carving"
        r"|bruising)\s+my\s+(?:arms?|wrists?|legs?|thighs?|skin|stomach|body)\b(?!\s+(?:on|in"
        r"|while|by\s+accident|accidentally|shaving|cooking)\b)",
        "self-injury described (accidents like 'cut myself shaving' are guarded)",
    ),
    _rule(
        "sh_on_purpose",
        SH,
        r"\b(?:myself|my\s+(?:arms?|wrists?|legs?|skin|hands?"
        r"|body))\s+(?:\w+\s+){0,3}?(?:on\s+purpose|deliberately|intentionally)\b|\b(?:until"
        r"|till|til|untill)\s+(?:they|it|i|my\s+\w+)\s+(?:bleed|bleeds|bled|bruise|bruised"
        r"|bruises)\b|\bmake\s+(?:myself|me)\s+bleed\b|\bcarv\w*\s+(?:\w+\s+){0,3}?(?:into|in"
        r"|on)\s+my\s+(?:skin|arms?|legs?|wrists?|thighs?|body|stomach)\b",
        "injury on purpose / until bleeding / carving skin",
    ),
    _rule(
        "sh_self_harm",
        SH,
        r"\bself\s+harm(?:ing|ed)\b|\b(?:started|start|starting|been|keep|kept|stop|relapsed"
        r"|relapse|relapsing|urge|urges|want|wanna|going|need|tempted)\s+(?:to\s+|on\s+"
        r"|into\s+)?(?:self\s+harm\w*|sh)\b|\bself\s+harm\w*\s+(?:is|was)\s+(?:the\s+)?only\b"
        r"|\bself\s+harm\w*\s+(?:again|urges?|relapse)\b|\bsh\s+(?:urges?|again|relapse|thoughts"
        r"|tonight|today)\b",
        "self-harm now (questions about self-harm and resolved history are not)",
        history=True,
    ),
    _rule(
        "sh_cutting",
        SH,
        r"\b(?:been|started|start|keep|kept|relapsed\s+on|relapse\s+on|relapsing\s+on|back\s+to"
        r"|stop|quit|cant\s+stop)\s+cutting\b(?!\s+(?:back|down|out|off|costs?|carbs|sugar|the"
        r"|my\s+(?:pills?|dose|hair|nails|hours|meds)|it|ties|class|school|corners|hair|coupons"
        r"|wood|grass|hours)\b)|\b(?:i|relapsed\s+and|ive|i\s+have)\s+(?:just\s+)?cut\s+again\b"
        r"|\bcutting\s+(?:again|my\s+(?:arms?|wrists?|legs?|thighs?|skin|stomach))\b",
        "cutting as self-injury ('cutting back on caffeine' excluded)",
        history=True,
    ),
    # ---- overdose ----------------------------------------------------------------
    _rule(
        "od_take_all",
        OD,
        r"\b(?:take|taking|took|swallow|swallowing|swallowed|down|downing|downed|pop|popping"
        r"|popped|chug\w*|ingest\w*|od\s+on)\s+(?:all|every|each|the\s+whole|a\s+whole"
        r"|the\s+entire|an\s+entire|a\s+bunch\s+of|a\s+handful\s+of|a\s+lot\s+of|lots\s+of"
        r"|too\s+many|way\s+too\s+many|so\s+many|\d{2,}(?!\s*(?:mg|mgs|milligrams?|ml|mcg|g"
        r"|grams?|units?|percent|minutes?|mins?|hours?|days?|years?)\b)|twenty|thirty|forty"
        r"|fifty|hundred|a\s+hundred|as\s+many|the\s+rest\s+of|an?\s+(?:full\s+|entire\s+"
        r"|whole\s+)?(?:bottle|pack|packet|box|strip)\s+of)\s+(?:single\s+)?(?:of\s+)?(?:my|the"
        r"|those|these|her|his|their|our|your)?\s*(?:\w+\s+){0,2}?(?:<PILLNOUN>|<PILLNAME>)\b"
        r"|\btomar\w*\s+(?:todas|todos|muchas|un\s+monton\s+de"
        r"|el\s+frasco)\s+(?:\w+\s+)?(?:pastillas|medicamentos|pildoras|medicinas)\b",
        "taking all/too many pills ('take all my regular meds as prescribed' is guarded)",
    ),
    _rule(
        "od_intent",
        OD,
        r"\b(?:want|wanna|wants|going|plan|planning|planned|thinking|thought|think|about|try"
        r"|trying|decided|ready|urge|tempted|considering|contemplating|might)\s+(?:to\s+"
        r"|about\s+|of\s+|on\s+)?(?:overdos(?:e|ing)|od)\b(?!\s+(?:risk|rates?|crisis|deaths?"
        r"|prevention|patients|statistics)\b)|\bod\s+(?:on|with|tonight|today|again)\b",
        "intent to overdose, 'od on my meds'",
    ),
    _rule(
        "od_stockpile",
        OD,
        r"\b(?:saving|saved|stockpil\w*|hoard\w*|stash\w*)\s+(?:up\s+)?(?:on\s+)?(?:all\s+)?(?:of"
        r"\s+)?(?:my|the|some|enough|these|extra)?\s*(?:\w+\s+)?(?:<PILLNOUN>|<PILLNAME>)\b"
        r"|\benough\s+(?:\w+\s+)?(?:<PILLNOUN>|<PILLNAME>)\s+(?:saved|stored|stashed|to\s+(?:die"
        r"|end|kill|do\s+it|not\s+wake))",
        "stockpiling medication",
    ),
    _rule(
        "od_lethal_question",
        OD,
        r"\b(?:would|will|could|does|can|might)\s+(?:it|that|this|they|them|ketamine|these|those"
        r"|pills|meds|drugs|\d+)\s+kill\s+me\b|\bhow\s+(?:much"
        r"|many)\b(?:\s+\w+){0,5}?\s+(?:would|will|to|does|it\s+take\s+to)\s+kill\s+(?:me"
        r"|a\s+person|someone|myself)\b|\benough\s+(?:\w+\s+){0,2}?to\s+kill\s+(?:me|myself"
        r"|a\s+person|someone)\b|\bhow\s+(?:many|much)\s+(?:of\s+)?(?:my\s+|the\s+"
        r"|these\s+)?(?:\w+\s+)?(?:<PILLNOUN>|<PILLNAME>)\s+(?:\w+\s+){0,2}?(?:would|will|does"
        r"|do|to|it)\s+(?:it\s+)?(?:take|kill|be\s+(?:lethal|fatal|deadly|enough))\b"
        r"|\b(?:how\s+(?:much|many)|what\s+amount|what\s+dose"
        r"|enough)\b(?:\s+\w+){0,5}?\s+(?:would|will|to|could"
        r"|it\s+take\s+to)\s+stop\s+my\s+(?:heart|breathing)\b",
        "how much would kill me / how many pills would it take / stop my heart",
    ),
    _rule(
        "od_overdosed",
        OD,
        r"\b(?:overdosed|(?:i|he|she|they|has|just)\s+od)\b(?!\s+accidentally)",
        "an overdose that has happened (switched off for resolved past history)",
        history=True,
    ),
    _rule(
        "od_emergency",
        OD,
        r"\b(?:barely|not|isnt|stopped|hardly)\s+breathing\b|\b(?:wont|cant|can\s+not"
        r"|unable\s+to)\s+(?:wake|rouse)\s+(?:him|her|them|up)\b|\bunresponsive\b"
        r"|\bturning\s+blue\b",
        "someone not breathing / unresponsive",
    ),
    # ---- harm to others -----------------------------------------------------------
    _rule(
        "ho_intent",
        HO,
        r"\b(?:(?:want|wants|wanted|wanting|going|plan|plans|planning|planned|urge|urges|tempted"
        r"|ready|need|needs|try|trying|decided|intend|intending|mean)\s+to|(?:i|he|she"
        r"|they)\s+(?:will|would|could|might|may|can|am\s+going\s+to)|ill|id|hell|shell"
        r"|(?:thoughts?|images?|visions?|fantasies|dreams?|urges?|impulses?)\s+(?:of|about)"
        r"|(?:thinking|thought|fantasi[sz]\w*|dream\w*)\s+(?:about|of)|(?:snap|lose\s+it"
        r"|lose\s+control|flip\s+out)\s+and|picturing|imagining"
        r"|visuali[sz]ing)\s+<ADV><HARM>\s+<PEOPLE>\b(?!\s+(?:an?\s+)?(?:email|text|message"
        r"|call)\b)",
        "intent or intrusive urges to hurt/kill a person ('kill the spider' does not name a"
        " person)",
    ),
    _rule(
        "ho_other_phrases",
        HO,
        r"\bwant\w*\s+(?:him|her|them|you|my\s+\w+|everyone)\s+dead\b|\bmake\s+(?:them|him|her"
        r"|everyone|everybody|those\s+\w+|the\s+people)\s+pay\b(?!\s+for\s+(?:my|the|it|this"
        r"|treatment|parking|a|an))|\b(?:shoot|shooting|shoot\s+up|blow\s+up"
        r"|bomb)\s+(?:up\s+)?(?:the|my|this|that|a)?\s*(?:school|office|work|workplace|clinic"
        r"|church|mall|building)\b|\bhurt\w*\s+(?:someone|somebody)\b",
        "revenge, wanting someone dead, attack on a place",
    ),
    # ---- someone else in danger -----------------------------------------------------
    _rule(
        "tp_self",
        TP,
        r"\b(?:to|might|may|will|could|would|going\s+to|about\s+to|hell|shell|theyll"
        r"|try\s+and)\s+(?:just\s+)?(?:kill|hurt|harm|cut|hang|shoot|drown|off|end|unalive"
        r"|poison|starve|stab|overdose\s+on)\s+<THIRDSELF>\b|\b(?:about|of)\s+(?:killing|hurting"
        r"|harming|cutting|hanging|shooting|ending|drowning|poisoning|starving)\s+<THIRDSELF>\b"
        r"|\b(?:end|ending|take|taking)\s+(?:his|her|their)\s+(?:own\s+)?life\b(?!\s+(?:savings"
        r"|insurance|history|story|back)\b)",
        "someone else wants/might kill or hurt themselves ('the character kills himself' is not"
        " flagged)",
    ),
    _rule(
        "tp_threat",
        TP,
        r"\b(?:going\s+to|will|threaten\w*\s+to|wants?\s+to|tried\s+to|trying\s+to|try\s+to"
        r"|said\s+(?:hed|he\s+would|shed|she\s+would)|hell|shell)\s+(?:kill|hurt|shoot|stab|beat"
        r"|strangle|choke)\s+(?:me|us|my\s+(?:kids|children|son|daughter|baby|family))\b",
        "someone threatening to kill/hurt the user ('will kill me if she finds out' is guarded)",
    ),
    # ---- Spanish ---------------------------------------------------------------------
    _rule(
        "es_die",
        ES,
        r"\b(?:quiero|quisiera|queria|deseo|ganas\s+de|prefiero|me\s+quiero|me\s+voy\s+a|voy\s+a"
        r"|quiere|quieren)\s+(?:\w+\s+)?(?:morir\w*|matar(?:me|se|te)|suicidar\w*|desaparecer"
        r"|dejar\s+de\s+existir|no\s+despertar)\b",
        "quiero morir(me), quiero desaparecer",
    ),
    _rule(
        "es_kill_self",
        ES,
        r"\b(?:me|se|te)\s+(?:\w+\s+)?(?:quiero|quiere|quieres|va\s+a|voy\s+a|vas\s+a|van\s+a"
        r"|queria|quisiera|pienso|piensa)\s+matar\b|\bmatar(?:me|se)\b|\bsuicidar(?:me|se|te)\b"
        r"|\bquitar(?:me|se|te)\s+la\s+vida\b|\b(?:pienso|piensa|pensando|pense|pensar"
        r"|pensamientos?|ideas?)\s+(?:en|de|sobre)\s+(?:el\s+)?suicid\w*|\b(?:pensamientos|ideas"
        r"|ideacion)\s+suicidas?\b|\b(?:soy|estoy|me\s+siento)\s+suicida\b",
        "me quiero matar, suicidarme, quitarme la vida, pensamientos suicidas",
    ),
    _rule(
        "es_no_live",
        ES,
        r"\bno\s+(?:\w+\s+)?(?:quiero|quiere|quisiera|deseo"
        r"|tengo\s+ganas\s+de)\s+(?:seguir\s+)?(?:vivir|viviendo|existir|despertar"
        r"|estar\s+viv[oa]|seguir\s+aqui)\b|\b(?:no\s+tengo|sin|ningun\w*)\s+(?:\w+\s+)?(?:razon"
        r"|razones|motivo|motivos|sentido|ganas)\s+(?:para|de)\s+(?:vivir|seguir)\b"
        r"|\bcansad[oa]\s+de\s+(?:vivir|la\s+vida|existir)\b|\bnada\s+por\s+(?:lo\s+)?(?:que"
        r"|cual)\s+vivir\b|\b(?:desaparecer|dormir)\s+para\s+siempre\b|\bmejor\s+(?:sin\s+mi"
        r"|muert[oa]|si\s+(?:me\s+muero|muriera|no\s+estuviera))\b",
        "no quiero vivir, sin razones para vivir, cansado de vivir",
    ),
    _rule(
        "es_self_harm",
        ES,
        r"\b(?:hacer(?:me|se)|me\s+hago|me\s+hice|me\s+quiero\s+hacer"
        r"|me\s+voy\s+a\s+hacer)\s+(?:\w+\s+)?(?:dano|danio)\b|\blastimar(?:me|se)\b"
        r"|\bcortar(?:me|se)\b(?!\s+(?:el|la|las|los)\b\s+(?:pelo|cabello|unas|barba|flequillo))"
        r"|\bme\s+(?:corto|he\s+cortado|lastimo|lastime)\b|\bme\s+(?:quiero|voy\s+a)\s+(?:cortar"
        r"|lastimar)\b|\bautolesion\w*|\b(?:quiero|voy\s+a|pienso"
        r"|pensando)\s+(?:en\s+)?(?:\w+\s+)?sobredosis\b",
        "hacerme daño, cortarme, lastimarme",
    ),
)

_THIRD_PARTY_SUBJECT = _compile(
    r"\b(?:my|our)\s+(?:\d+\s+year\s+old|(?:best\s+|older\s+|younger\s+|little\s+|big\s+"
    r"|teenage\s+|adult\s+|elderly\s+|ex\s+)?(?:son|daughter|kid|kids|child|teen|teenager|friend"
    r"|bff|brother|sister|mom|mum|mother|dad|father|husband|wife|partner|boyfriend|girlfriend|bf"
    r"|gf|fiancee?|roommate|cousin|aunt|uncle|grandma|grandmother|grandpa|grandfather|niece"
    r"|nephew|coworker|colleague|neighbou?r|student|client|patient|ex|spouse|parent|stepson"
    r"|stepdaughter))\b"
)
_FIRST_PERSON = re.compile(r"\b(?:i|im|ive|id|ill|myself)\b")
_ADJUSTABLE = {SI, PM, SH, OD}


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
