"""Understanding contact details the way people type them (no I/O: unit-tested directly).

Used by the consultation form and the crisis call-back (actions/leads.py):

* phone numbers: `phonenumbers` (Google's libphonenumber), any common format,
  stored as E.164;
* names: a cue ("my name is …", "I'm …", "this is …", "call me …") or, when
  the question asked was the name, the reply itself; `nameparser` then splits
  and capitalises it ("dana mcdonald" → "Dana McDonald", titles kept);
* preferred times: `dateparser` recognises clock times and days ("after 5pm",
  "tomorrow at 3", "Tuesday"); the parts of the day and week it does not model
  ("afternoons", "weekday mornings", "weekends") and "whenever" / "any time"
  are matched as words;
* declines of an optional question ("no", "none", "no thanks", "I don't have
  one", "skip") and yes/no answers (negation first: "don't contact me" is a no).

Nothing here ever turns a filler word ("nope", "yes that's fine") into a value.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from nameparser import HumanName

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
NAME_MAX_WORDS = 4
NAME_CHARS = re.compile(r"^[^\W\d_](?:[\w'’\-.]*[^\W\d_])?\.?$", re.UNICODE)

# Words that are never (part of) a name given in a reply: fillers, answers,
# function words and the common verbs/adjectives that follow "I'm".
_NOT_NAME = """
a about after again ah all also alright am an and any anyone anything anytime are as ask asking at
available away awesome back bad be because been before being best better between book booking but
by bye
call called calling can cancel cant can't cell children come confused contact correct could cool
curious daughter day days depressed desperate did do does doing done dont don't dunno email
evening evenings every everything excellent family fine for forget friend from get getting go
going good great had happy has have having he hello help her here hers hey hi him his home hoping
how husband i i'd i'll i'm idk if im in interested is isn't it it's its just k kid kids kind know
later let like looking lol lost mail maybe me meet mine mom morning mornings mother mum my myself
na nah need needed nervous never new next nice night no nobody none nope not nothing now number of
off ok okay on one only or other our out over patient perfect person phone please pls probably
ready really reschedule right sad same scared see she should skip so sometime someone something
son sorry still sure tell text thank thanks that that's thats the their them then there they
thing think thinking this those thx tired to today tomorrow too trying ugh um uh unsure up us very
wait want wanted wanting was we well were what whatever when whenever where which who why wife will
with wondering worried would wow ya yeah yep yes yet you your yours yup
urgent important serious hard difficult crazy weird frustrating confusing helpful amazing silly
stupid annoying ridiculous taking going regarding concerning re fw fwd about just only actually
""".split()
NOT_NAME_WORDS = frozenset(_NOT_NAME)
# Relatives someone may book for ("book a consult for my mom").
RELATIONS = {
    "mom": "mother",
    "mum": "mother",
    "mother": "mother",
    "dad": "father",
    "father": "father",
    "wife": "wife",
    "husband": "husband",
    "partner": "partner",
    "spouse": "spouse",
    "son": "son",
    "daughter": "daughter",
    "brother": "brother",
    "sister": "sister",
    "friend": "friend",
    "parent": "parent",
    "child": "child",
    "kid": "child",
    "grandma": "grandmother",
    "grandmother": "grandmother",
    "grandpa": "grandfather",
    "grandfather": "grandfather",
    "aunt": "aunt",
    "uncle": "uncle",
    "girlfriend": "girlfriend",
    "boyfriend": "boyfriend",
    "fiance": "fiancé",
    "fiancé": "fiancé",
    "fiancee": "fiancée",
    "fiancée": "fiancée",
}
_RELATION = re.compile(
    r"\b(?:for|on behalf of|about)\s+(?:my|our)\s+(" + "|".join(RELATIONS) + r")\b"
    r"|\bmy\s+(" + "|".join(RELATIONS) + r")\s+(?:wants|needs|would like|is interested|is looking)",
    re.IGNORECASE,
)

# "my name is Dana", "name's Dana", "name: Dana", "her name is Linda": a strong cue.
_NAME_STRONG = re.compile(
    r"\b(?:(?:my|her|his|their|the)\s+)?(?:full\s+)?name(?:'s|’s|\s+is|\s*:)\s+(?P<name>.+)",
    re.IGNORECASE,
)
# "call me Dana" / "you can call me Dana" (not "call me at 5", "call me back").
_NAME_CALL_ME = re.compile(r"\b(?:you can |please )?call me\s+(?P<name>.+)", re.IGNORECASE)
# "this is Marcus", "it's Dana": a cue unless a common word follows ("this is urgent").
_NAME_THIS_IS = re.compile(r"\b(?:this is|it's|it is|its)\s+(?P<name>.+)", re.IGNORECASE)
# "I'm Dana", "i am dana", "im dana": weak (people are "interested", "looking", …).
_NAME_IM = re.compile(r"\b(?:i'm|i’m|i am|im)\s+(?P<name>.+)", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_][\w'’\-.]*", re.UNICODE)

_FILLER = frozenset(
    """
    yes yeah yea yep yup ya sure ok okay k kk fine thats that's that is it good great cool thanks
    thank
    you please pls no nope nah none skip hmm hm um uh idk dunno whatever lol alright right correct
    perfect sounds works hi hello hey so well oh ah just fine. sure. the a go ahead
    """.split()
)

# Declining an optional question (email, best time). Whole message, tidied.
_DECLINE = re.compile(
    r"^(?:(?:oh|um|uh|well|sorry|actually|thanks|ok|okay)[\s,]+)*"
    r"(?:no+|nope|nah|none|nothing|n/?a|skip(?: it| that| this)?|pass|no thanks?|no thank you|"
    r"not really|rather not|i'?d rather not|prefer not(?: to)?(?: say| share)?|not needed|"
    r"no need|don'?t need (?:one|it|to)|not necessary|i don'?t (?:have|use) (?:one|it|an? \w+|"
    r"email)|"
    r"don'?t have (?:one|it|an? \w+|email)|no (?:email|e-mail|mail|preference)(?: address)?|"
    r"i have none|haven'?t got one|leave it (?:out|blank)|next)"
    r"(?:[\s,.!]+(?:thanks?|thank you|please|pls|sorry|for now|i'?m afraid))*[\s.!]*$",
    re.IGNORECASE,
)
_ANY_TIME = re.compile(
    r"^(?:(?:oh|um|well|honestly|really|ok|okay|no|nah)[\s,]+)*"
    r"(?:any ?time(?: is (?:fine|good|ok|okay))?|whenever(?: is (?:fine|good|ok|okay))?|"
    r"whenever works|whatever works(?: for you)?|whenever you can|whenever you want|"
    r"(?:it )?doesn'?t matter|no preference|(?:i'?m )?flexible|any(?: time of)? day|"
    r"anytime works|all day|any day(?: is fine)?|either|whenever's good|i don'?t mind)"
    r"(?:[\s,.!]+(?:thanks?|thank you|really|works|is fine))*[\s.!]*$",
    re.IGNORECASE,
)
_ASAP = re.compile(r"\b(?:asap|as soon as (?:possible|you can)|right away|now please)\b", re.I)

# Parts of the day/week dateparser does not model; clock times and days it does.
_PERIOD = (
    r"(?:early |late |mid-?)?(?:mornings?|afternoons?|evenings?|nights?|noon|midday|lunch ?(?:time|"
    r"break)?|"
    r"weekdays?|weekends?|week ?nights?|work ?days?|after work|before work|after school|"
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?|"
    r"mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|today|tonight|tomorrow|next week|this week)\b"
)
# Days and relative days are checked with dateparser.
_DATEPARSER_WORDS = re.compile(
    r"^(?:(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?|mon|tue|tues|wed|thu|thur|"
    r"thurs|fri|sat|sun|today|tonight|tomorrow|next week|this week)$",
    re.IGNORECASE,
)
_CLOCK = (
    r"(?:\d{1,2}(?::\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)|\d{1,2}:\d{2}|noon|midday|\d{1,2}\s*o'?clock)"
    r"(?![\w])"
)
_TIME_WORD = (
    r"(?:after|before|around|about|between|from|until|till|by|at|on|in the|any|early|late|"
    r"not before)\b"
)
_TIME_PHRASE = re.compile(
    rf"(?:(?:{_TIME_WORD}|and|or|to|-|,|&)\s*)*"
    rf"(?:{_PERIOD}|{_CLOCK}|(?:after|before|around|between|from|until|till|"
    rf"not before)\s+\d{{1,2}}\b(?![:\d]))"
    rf"(?:\s*(?:(?:{_TIME_WORD}|and|or|to|-|&|,|\s)\s*)*(?:{_PERIOD}|{_CLOCK}|\d{{1,2}}\b(?!\d)))*",
    re.IGNORECASE,
)
_BARE_DAY_ABBREVIATIONS = frozenset({"mon", "wed", "sat", "sun", "fri", "tue", "thu"})

_YES = re.compile(
    r"^(?:(?:oh|um|well|ok|okay|yes|yeah|sure|so)[\s,]+)*"
    r"(?:y|ye|yes+|yeah|yea|yep|yup|ya|sure(?: thing)?|ok|okay|k|of course|absolutely|definitely|"
    r"certainly|please do|please|go ahead|do it|that'?s fine|fine|that'?s ok(?:ay)?|correct|"
    r"that'?s right|right|i agree|agreed|i consent|you may|you can|alright|all right|sounds good|"
    r"works for me|perfect|great|yes please|yes you (?:can|may)|why not|no problem|by all means|"
    r"that works|that'?s correct|that'?s my number|that one|this one|same number|use (?:that|"
    r"this) one|"
    r"yes that'?s (?:fine|right|correct|my number|it)|yes,? (?:please|call me|that'?s fine)|"
    r"please (?:call|contact|text) me|call me)"
    r"(?:[\s,.!]+(?:please|pls|thanks?|thank you|that'?s fine|go ahead|sure|sounds good|"
    r"you (?:can|may)|call me|contact me|that'?s my number|it is|it'?s fine))*[\s.!]*$",
    re.IGNORECASE,
)
_NO = re.compile(
    r"\b(?:no|nope|nah|nay|don'?t|do not|doesn'?t|not|never|rather not|no thanks?|no thank you|"
    r"refuse|decline|won'?t|wouldn'?t|stop)\b",
    re.IGNORECASE,
)
_NOT_REALLY_NO = re.compile(
    r"\b(?:no problem|not a problem|why not|no worries|no doubt|not at all a problem)\b", re.I
)

# Ending the form: the whole message (a few polite words around it).
_CANCEL = re.compile(
    r"^(?:(?:oh|um|ok|okay|no|nah|actually|sorry|wait|hmm|please|just|thanks)[\s,.!]+)*"
    r"(?:cancel(?: that| it| this| the request| my request| everything)?|stop(?: it| this| that|"
    r" asking| please)?|"
    r"never ?mind|nvm|nm|forget (?:it|about it|that|this)|quit|exit|end|abort|leave it|"
    r"i changed my mind|changed my mind|i don'?t want to (?:do this|book|continue|give (?:my|"
    r"you) \w+)(?: anymore| now)?|"
    r"not now|maybe later|let'?s not|no thanks,? (?:cancel|stop)|i'?ll call (?:you|myself|"
    r"the clinic)(?: instead)?)"
    r"(?:[\s,.!]+(?:please|pls|thanks?|thank you|then|for now|that|it|anymore|sorry))*[\s.!]*$",
    re.IGNORECASE,
)
_QUESTION_START = re.compile(
    r"^(?:wait[\s,]+|hold on[\s,]+|actually[\s,]+|but[\s,]+|and[\s,]+|oh[\s,]+|um[\s,]+|so[\s,]+|"
    r"quick question[\s,:]+)*"
    r"(?:what|what's|whats|how|why|when|where|who|which|is|are|does|do|did|can|could|will|would|"
    r"should|"
    r"may|might|am|was|were|has|have|tell me)\b",
    re.IGNORECASE,
)

# "what happens next?", "when will you call?" after a request was saved.
_WHAT_NEXT = re.compile(
    r"\b(?:what(?:'s|s| is| are| happens?| will happen| do i do| should i do| now)?\s+"
    r"(?:happens\s+)?(?:next|now|then)(?:\s+steps?)?|next steps?|what now|now what|"
    r"when (?:will|would|do|does|can|should|is|are)\s+(?:you|someone|somebody|they|the team|"
    r"your team|"
    r"the clinic|staff|a nurse|anyone|i)\s+(?:going to\s+)?(?:be\s+)?(?:call|contact|reach|"
    r"get(?:ting)? back|hear|"
    r"ring|text|email|phone|calling|contacting)|"
    r"when (?:will|do|can|should) i (?:hear|expect|get)|how long (?:until|till|before|will it take|"
    r"does it take|do i wait)|"
    r"hear back|did (?:you|it|they|the team) (?:get|receive|see) (?:my|the)|(?:is|was) my request|"
    r"status of my (?:request|booking|consult)|have you got my|got my (?:request|details|info)|"
    r"who will (?:call|contact)|will (?:someone|anyone|you|they) (?:call|contact|reach)|"
    r"how will (?:you|they|i) (?:contact|reach|hear))\b",
    re.IGNORECASE,
)


def _tidy(text: str) -> str:
    return " ".join((text or "").replace("’", "'").split())


def _plain(text: str) -> str:
    """Lower-case, single-spaced, without surrounding punctuation (for whole-message matches)."""
    return _tidy(text).lower().strip(" .!?,;:")


# ---- phone and email --------------------------------------------------------


def parse_phone(raw: str, region: str) -> str | None:
    """The number in E.164 (+14158675309), or None if it is not a valid number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_spans(text: str, region: str) -> list[tuple[int, int, str]]:
    """(start, end, E.164) of every valid phone number written in `text`."""
    found = []
    for match in phonenumbers.PhoneNumberMatcher(
        text or "", region, leniency=phonenumbers.Leniency.VALID
    ):
        found.append(
            (
                match.start,
                match.end,
                phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164),
            )
        )
    return found


def find_phone(text: str, region: str) -> str | None:
    """A valid phone number written anywhere in a message, in E.164."""
    spans = phone_spans(text, region)
    return spans[-1][2] if spans else None  # "not 555-0101, it's 555-0199": the last one


def looks_like_phone_attempt(text: str) -> bool:
    """Mostly digits: the person tried to type a number (an invalid one gets a re-ask)."""
    digits = sum(ch.isdigit() for ch in text)
    return digits >= 3 and digits >= len(re.sub(r"[\s()+.\-]", "", text)) * 0.6


def find_email(text: str) -> str | None:
    match = EMAIL.search(text or "")
    return match.group(0).lower().rstrip(".") if match else None


def pretty_phone(e164: str) -> str:
    number = phonenumbers.parse(e164, None)
    region = phonenumbers.region_code_for_number(number)
    kind = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(
        number, kind.NATIONAL if region == "US" else kind.INTERNATIONAL
    )


def without_details(text: str, region: str) -> str:
    """`text` with phone numbers and email addresses taken out (what is left may be a name)."""
    text = EMAIL.sub(" ", text or "")
    for start, end, _ in reversed(phone_spans(text, region)):
        text = text[:start] + " " + text[end:]
    return _tidy(text)


# ---- names --------------------------------------------------------------------


def _name_words(candidate: str) -> list[str]:
    """The leading words of `candidate` that can be a name (stops at a non-name word)."""
    words: list[str] = []
    for raw in re.split(r"[\s,;:!?()/]+|\s-\s|\.\s", candidate.strip()):
        word = raw.strip(".\"'")
        if not word:
            if words:
                break
            continue
        if word.lower() in NOT_NAME_WORDS or not NAME_CHARS.match(word):
            break
        words.append(word)
        if len(words) > NAME_MAX_WORDS:
            return []
    return words


def clean_name(text: str) -> str | None:
    """A plausible name (1-4 words of letters, at most 80 characters), capitalised; else None."""
    text = _tidy(text).strip(".!,;:")
    if not text or len(text) > 80:
        return None
    words = text.split()
    if len(words) > NAME_MAX_WORDS + 1:  # "Dr." + four words
        return None
    for word in words:
        if not NAME_CHARS.match(word.strip(".")) and word.rstrip(".").lower() not in {
            "dr",
            "mr",
            "mrs",
            "ms",
            "mx",
        }:
            return None
    if all(word.lower().strip(".") in NOT_NAME_WORDS for word in words):
        return None
    name = HumanName(text)
    if not (name.first or name.last):
        return None
    name.capitalize(force=False)  # "dana mcdonald" → "Dana McDonald"; "DeShawn" kept
    result = " ".join(str(name).split())
    return result if NAME_CHARS.match(result.split()[0].strip(".")) else None


def _cued_name(text: str, *, weak_ok: bool) -> str | None:
    for pattern, strength in (
        (_NAME_STRONG, "strong"),
        (_NAME_CALL_ME, "strong"),
        (_NAME_THIS_IS, "medium"),
        (_NAME_IM, "weak"),
    ):
        for match in pattern.finditer(text):
            raw = match.group("name")
            words = _name_words(raw)
            if not words:
                continue
            if strength != "strong" and not weak_ok and not words[0][:1].isupper():
                continue  # "i'm looking…", "this is urgent": "I'm Dana", "this is Marcus" count
            if strength != "strong" and len(words) == 1 and len(words[0]) < 2:
                continue
            name = clean_name(" ".join(words))
            if name:
                return name
    return None


def find_name(text: str, *, asked: bool = False, region: str = "US") -> str | None:
    """A name in a message: given with a cue anywhere ("Hi, I'm Dana Whitfield, …"), or,
    when the question asked was the name (`asked`), the reply itself ("dana")."""
    text = _tidy(text)
    if not text:
        return None
    cued = _cued_name(text, weak_ok=asked)
    if cued or not asked:
        return cued
    rest = without_details(text, region)
    rest = re.sub(
        r"^(?:hi|hello|hey|ok|okay|sure|yes|yeah|it's|its|um|uh)[\s,!.]+", "", rest, flags=re.I
    )
    if _QUESTION_START.match(rest) or rest.endswith("?"):
        return None
    words = _name_words(rest)
    if not words or len(words) != len(rest.replace(",", " ").split()):
        return None  # the whole reply must be the name ("Dana", "dana whitfield")
    return clean_name(" ".join(words))


def relation(text: str) -> str | None:
    """Who the request is for when it is not the person writing ("for my mom" → "mother")."""
    match = _RELATION.search(text or "")
    if not match:
        return None
    return RELATIONS[(match.group(1) or match.group(2)).lower()]


# ---- optional answers, time, yes/no, cancel -------------------------------------


def is_filler(text: str) -> bool:
    """Nothing but filler ("yes", "ok sure", "yes that's fine", "nope"): never a value."""
    words = re.findall(r"[a-z']+", _plain(text))
    return not words or all(word in _FILLER for word in words)


def is_decline(text: str) -> bool:
    """A natural "no" to an optional question ("no", "none", "nope", "I don't have one")."""
    return bool(_DECLINE.match(_plain(text)))


def is_question(text: str) -> bool:
    plain = _tidy(text)
    return plain.endswith("?") or bool(_QUESTION_START.match(plain))


@lru_cache(maxsize=1)
def _dateparser():  # type: ignore[no-untyped-def]
    import dateparser  # imported lazily: loading its language data takes a moment

    return dateparser


def _clock_ok(phrase: str) -> bool:
    """dateparser agrees the clock times/days in `phrase` are times (not "the 48th")."""
    pieces = re.findall(
        rf"{_CLOCK}|(?:after|before|around|between|and|until|till|from|to)\s+\d{{1,2}}\b|{_PERIOD}",
        phrase,
        re.I,
    )
    parser = _dateparser()
    settings = {"PREFER_DATES_FROM": "future", "RETURN_AS_TIMEZONE_AWARE": False}
    for piece in pieces:
        hour = re.fullmatch(
            r"(?:after|before|around|between|and|until|till|from|to)\s+(\d{1,2})", piece, re.I
        )
        if hour:
            if not 1 <= int(hour.group(1)) <= 12:
                return False
            continue  # "after 5": an hour of the day
        bare = piece
        if _DATEPARSER_WORDS.match(bare):
            bare = re.sub(r"s$", "", bare)  # "tuesdays": any Tuesday
        elif re.fullmatch(_PERIOD, bare, re.I):
            continue  # parts of the day/week: dateparser has no model for "afternoons"
        if parser.parse(bare, languages=["en"], settings=settings) is None:
            return False
    return bool(pieces)


def find_contact_time(text: str) -> str | None:
    """The preferred time in a message, in the person's words ("after 5pm",
    "weekday mornings", "Tuesday or Thursday after 3"); "whenever" → "any time";
    None when there is no time in it (a filler word never counts)."""
    plain = _plain(text)
    if not plain:
        return None
    if _ANY_TIME.match(plain):
        return "any time"
    if _ASAP.search(plain):
        return "as soon as possible"
    best = ""
    for match in _TIME_PHRASE.finditer(_tidy(text).replace("’", "'")):
        phrase = match.group(0).strip(" ,-&")
        if phrase.lower() in _BARE_DAY_ABBREVIATIONS and plain != phrase.lower():
            continue  # "sun" / "sat" inside a sentence are usually not days
        if len(phrase) > len(best) and _clock_ok(phrase):
            best = phrase
    if not best:
        return None
    best = re.sub(r"^(?:and|or|to|&|,)\s+", "", best, flags=re.I)
    best = re.sub(r"\s+(?:and|or|to|&|,|at|on|by|in the)$", "", best, flags=re.I)
    return best[:200] or None


def yes_or_no(text: str, intent: str | None = None) -> bool | None:
    """True for a yes, False for a no (negation wins: "don't contact me"), None if neither."""
    plain = _plain(text)
    if not plain:
        return None
    if _NO.search(plain) and not _NOT_REALLY_NO.search(plain):
        return False
    if _YES.match(plain):
        return True
    if intent == "affirm" and len(plain.split()) <= 6:
        return True
    if intent == "deny" and len(plain.split()) <= 6:
        return False
    return None


def is_cancel(text: str) -> bool:
    """The person wants to stop ("cancel", "stop", "never mind", "forget it", "nvm, cancel")."""
    parts = [p for p in re.split(r"[,.;!]+", _plain(text)) if p.strip()]
    return (
        bool(parts)
        and all(_CANCEL.match(p.strip()) or is_filler(p) for p in parts)
        and any(_CANCEL.match(p.strip()) for p in parts)
    )


def asks_what_next(text: str) -> bool:
    """ "what happens next?", "when will you call?", "how long until I hear back?" """
    return bool(_WHAT_NEXT.search(_tidy(text)))
