"""Split a text into the author's own voice and what it reports others saying."""

import re

_QUOTES = re.compile(r"«[^»]{2,}»|“[^”]{2,}”|\"[^\"]{2,}\"|„[^“”]{2,}[“”]|‘[^’]{2,}’")
_SENT = re.compile(r"(?<=[.!?؟\n])\s+")

EN = [
    r"\bthey(?:'ll| will| would|'d)? (?:keep |always |still )?(?:say|said|says|claim|claimed|tell|told|promise|promised|call|called|preach|sell|repeat|write|wrote|post|posted|insist|swear|whisper|shout)\b",
    r"\bthey want (?:you|us|me|people) to (?:believe|think)\b",
    r"\b(?:recruiters?|propagandists?|the group|the post|the video|the poster|the message|the leaflet|the account|the channel|the slogan|their (?:post|video|message|propaganda|slogan|leaflet|channel|poster|pitch|line|recruiters?|preachers?|leaders?|song|anthem))(?:'s)? (?:says?|said|claims?|claimed|tells?|told|promises?|promised|calls?|called|reads?|goes|went|wrote|writes|insists?|asks?|asked)\b",
    r"\b(?:he|she|someone|somebody|a recruiter|a man|a stranger|a guy|one of them) (?:told|tells|wrote|writes|messaged|promised|asked) (?:me|him|her|us|you|my)\b",
    r"\baccording to (?:them|the group|their|its)\b",
    r"\b(?:i|we) (?:was|were) (?:told|promised|taught)\b",
    r"\byou(?:'ll|'re| will| are) (?:be )?(?:told|promised)\b",
    r"\b(?:so-called|supposedly|allegedly)\b",
    r"\b(?:their|the) (?:favourite|favorite|usual|old|same) (?:line|lie|story|pitch|slogan|refrain)\b",
    r"\b(?:their|the recruiters'|the recruiter's) (?:pitch|story|line|narrative|promise|promises|lies?) (?:is|are|was|goes)\b",
]
FR = [
    r"\b(?:ils|elles|eux) (?:te |vous |nous |m'|t'|leur |lui )?(?:disent|ont dit|disaient|diront|prétendent|pretendent|affirment|promettent|racontent|répètent|repetent|écrivent|ecrivent|appellent|jurent|chuchotent|crient|vendent|prêchent|prechent)\b",
    r"\b(?:ils|elles) (?:te |vous |nous |m')?(?:ont|avaient) (?:dit|promis|raconté|raconte|écrit|ecrit|juré|jure)\b",
    r"\b(?:ils|elles) veulent (?:te|vous|nous|me) faire croire\b",
    r"\bon (?:te |vous |nous |m'|t')(?:dit|a dit|disait|répète|repete|promet|a promis|raconte|a raconté|explique|a expliqué)\b",
    r"\bselon (?:eux|elles|le groupe|leurs?|ses)\b",
    r"\b(?:soi-disant|prétendu|pretendu|prétendue|pretendue|prétendus|pretendus)\b",
    r"\b(?:le|la|leur|leurs|ce|cette|un|une) (?:message|slogan|discours|post|publication|vidéo|video|recruteur|recruteurs|tract|chaîne|chaine|compte|refrain|chant|hymne|prêcheur|precheur)s? (?:dit|disait|disent|affirme|affirmait|promet|promettait|proclame|répète|repete|martèle|martele|écrit|ecrit|demande)\b",
    r"\b(?:il|elle|quelqu'un|un recruteur|un type|un inconnu|l'un d'eux) (?:m'a|t'a|lui a|nous a|vous a|m'|t') ?(?:dit|écrit|ecrit|promis|demandé|demande|raconté|raconte)\b",
    r"\b(?:leur|le) (?:refrain|discours|baratin|argument|slogan) (?:préféré|prefere|habituel)?\b",
    r"\bje me suis fait dire\b|\bon m'avait dit\b|\bon nous (?:a|avait) dit\b",
]
AR = [
    r"(?:^|\s)(?:و|ف)?(?:يقولون|يقولوا|بيقولوا|بيقولو|يقولو|كيقولو|كايقولو|كيقولوا|قالوا|قالو|قالولي|قالوا لي|قالو ليا|قالوا لنا|يقول لك|يقولون لك|يقولولك|بيقولولك|يقولوا لك)(?:\s|$)",
    r"(?:^|\s)(?:و|ف)?(?:يزعمون|يزعموا|زعموا|يزعم|زعم|تزعم|يدعون|يدعي|تدعي|يروجون|يروج|تروج|يكررون|يرددون|يردد|يعدونك|يعدون|وعدوه|وعدوني|وعدونا)(?:\s|$)",
    r"(?:^|\s)(?:بحسب|حسب|وفق)(?:هم| زعمهم| روايتهم| ادعائهم| الجماعه| الحركه| التنظيم)",
    r"(?:^|\s)(?:ما يسمي|ما تسمي|المزعوم|المزعومه|المزعومين)(?:\s|$)",
    r"(?:^|\s)(?:يكتبون|كتبوا|ينشرون|نشروا)(?:\s|$)",
    r"(?:^|\s)(?:يبيعونك|يبيعون)(?:\s|$)",
    r"\b(?:y9olo|y9oulo|ye2olo|bi2olo|bi2oulo|kay9olo|kay9oulo|9alo|9alou|2alo|2alou|y9olik|bi2olak|y2ollak|kaygolo|kaygoulo|galo|galou)\b",
]
_AR_NORM = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ة": "ه", "ئ": "ي", "ؤ": "و"})
CUES = re.compile("|".join(f"(?:{p})" for p in EN + FR + AR), re.IGNORECASE)


def _key(text: str) -> str:
    text = re.sub("[\u064b-\u065f\u0670\u0640]", "", text)
    return text.translate(_AR_NORM).lower().replace("’", "'")


def split_voice(text: str) -> tuple[str, str]:
    """(own voice, reported speech) of a cleaned text."""
    reported: list[str] = []

    def grab(m: re.Match[str]) -> str:
        reported.append(m.group(0)[1:-1])
        return " "

    rest = _QUOTES.sub(grab, text)
    own: list[str] = []
    for sentence in _SENT.split(rest):
        key = _key(sentence)
        m = CUES.search(key)
        if m:
            # The sentence carries an attribution: what it says is someone else's claim.
            reported.append(sentence)
        else:
            own.append(sentence)
    return " ".join(s for s in own if s.strip()), " ".join(reported)
