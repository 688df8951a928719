"""The DSA Transparency Database's validation rules for a statement of reasons, as data.

Mirrors the database's own rules (schema v2; `GroupedSubmissionsService::multi_rules` and
`StatementStoreRequest` in digital-services-act/transparency-database, with the enum values of
`Statement.php`), so a statement the database would refuse is caught here and never sent.
Bastion adds two rules the database does not have: `known_field` (a misspelt field name would
be silently dropped there) and `no_personal_data` (statements are published; Bastion records
nothing about uploaders, so free text must not carry an e-mail address or a phone number).

`validate(statement)` returns every problem as (field, rule, message); an empty list means
the statement may leave.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple
from urllib.parse import urlsplit


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The allowed values of each enumerated field (schema v2, mandatory since 2025-07-01).
DECISION_VISIBILITIES = _words("""
    DECISION_VISIBILITY_CONTENT_REMOVED DECISION_VISIBILITY_CONTENT_DISABLED
    DECISION_VISIBILITY_CONTENT_DEMOTED DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED
    DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED DECISION_VISIBILITY_CONTENT_LABELLED
    DECISION_VISIBILITY_OTHER
""")
DECISION_MONETARIES = _words("""
    DECISION_MONETARY_SUSPENSION DECISION_MONETARY_TERMINATION DECISION_MONETARY_OTHER
""")
DECISION_PROVISIONS = _words("""
    DECISION_PROVISION_PARTIAL_SUSPENSION DECISION_PROVISION_TOTAL_SUSPENSION
    DECISION_PROVISION_PARTIAL_TERMINATION DECISION_PROVISION_TOTAL_TERMINATION
""")
DECISION_ACCOUNTS = _words("DECISION_ACCOUNT_SUSPENDED DECISION_ACCOUNT_TERMINATED")
ACCOUNT_TYPES = _words("ACCOUNT_TYPE_BUSINESS ACCOUNT_TYPE_PRIVATE")
DECISION_GROUNDS = _words("DECISION_GROUND_ILLEGAL_CONTENT DECISION_GROUND_INCOMPATIBLE_CONTENT")
CONTENT_TYPES = _words("""
    CONTENT_TYPE_APP CONTENT_TYPE_AUDIO CONTENT_TYPE_IMAGE CONTENT_TYPE_PRODUCT
    CONTENT_TYPE_SYNTHETIC_MEDIA CONTENT_TYPE_TEXT CONTENT_TYPE_VIDEO CONTENT_TYPE_OTHER
""")
CATEGORIES = _words("""
    STATEMENT_CATEGORY_ANIMAL_WELFARE STATEMENT_CATEGORY_CONSUMER_INFORMATION
    STATEMENT_CATEGORY_CYBER_VIOLENCE STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN
    STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS
    STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH
    STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS
    STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS
    STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE STATEMENT_CATEGORY_OTHER_VIOLATION_TC
    STATEMENT_CATEGORY_PROTECTION_OF_MINORS STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY
    STATEMENT_CATEGORY_SCAMS_AND_FRAUD STATEMENT_CATEGORY_SELF_HARM
    STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS STATEMENT_CATEGORY_VIOLENCE
""")
KEYWORDS = _words("""
    KEYWORD_ADULT_SEXUAL_MATERIAL KEYWORD_AGE_SPECIFIC_RESTRICTIONS
    KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS KEYWORD_ANIMAL_HARM KEYWORD_BIOMETRIC_DATA_BREACH
    KEYWORD_BULLYING_AGAINST_GIRLS KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL
    KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS
    KEYWORD_COORDINATED_HARM KEYWORD_COPYRIGHT_INFRINGEMENT KEYWORD_CYBER_BULLYING_INTIMIDATION
    KEYWORD_CYBER_HARASSMENT KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN KEYWORD_CYBER_INCITEMENT
    KEYWORD_CYBER_STALKING KEYWORD_CYBER_STALKING_AGAINST_WOMEN KEYWORD_DATA_FALSIFICATION
    KEYWORD_DEFAMATION KEYWORD_DESIGN_INFRINGEMENT KEYWORD_DISCRIMINATION
    KEYWORD_FEMALE_GENDERED_DISINFORMATION KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT
    KEYWORD_GEOGRAPHICAL_REQUIREMENTS KEYWORD_GOODS_SERVICES_NOT_PERMITTED
    KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS KEYWORD_HATE_SPEECH KEYWORD_HIDDEN_ADVERTISEMENT
    KEYWORD_HUMAN_EXPLOITATION KEYWORD_HUMAN_TRAFFICKING KEYWORD_ILLEGAL_ORGANIZATIONS
    KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING KEYWORD_INAUTHENTIC_ACCOUNTS
    KEYWORD_INAUTHENTIC_LISTINGS KEYWORD_INAUTHENTIC_USER_REVIEWS
    KEYWORD_INCITEMENT_AGAINST_WOMEN KEYWORD_INCITEMENT_VIOLENCE_HATRED
    KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS KEYWORD_LANGUAGE_REQUIREMENTS
    KEYWORD_MISINFORMATION_DISINFORMATION KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS
    KEYWORD_MISLEADING_INFO_GOODS_SERVICES KEYWORD_MISSING_PROCESSING_GROUND
    KEYWORD_NON_CONSENSUAL_IMAGE_SHARING KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN
    KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN
    KEYWORD_NONCOMPLIANCE_PRICING KEYWORD_NUDITY KEYWORD_PATENT_INFRINGEMENT KEYWORD_PHISHING
    KEYWORD_PROHIBITED_PRODUCTS KEYWORD_PYRAMID_SCHEMES KEYWORD_RIGHT_TO_BE_FORGOTTEN
    KEYWORD_RISK_ENVIRONMENTAL_DAMAGE KEYWORD_RISK_PUBLIC_HEALTH KEYWORD_SELF_MUTILATION
    KEYWORD_STALKING KEYWORD_SUICIDE KEYWORD_TERRORIST_CONTENT KEYWORD_TRADE_SECRET_INFRINGEMENT
    KEYWORD_TRADEMARK_INFRINGEMENT KEYWORD_TRAFFICKING_WOMEN_GIRLS KEYWORD_UNLAWFUL_SALE_ANIMALS
    KEYWORD_UNSAFE_CHALLENGES KEYWORD_UNSAFE_PRODUCTS KEYWORD_VIOLATION_EU_LAW
    KEYWORD_VIOLATION_NATIONAL_LAW KEYWORD_OTHER
""")
SOURCE_TYPES = _words("""
    SOURCE_ARTICLE_16 SOURCE_TRUSTED_FLAGGER SOURCE_TYPE_OTHER_NOTIFICATION SOURCE_VOLUNTARY
""")
AUTOMATED_DECISIONS = _words("""
    AUTOMATED_DECISION_FULLY AUTOMATED_DECISION_PARTIALLY AUTOMATED_DECISION_NOT_AUTOMATED
""")
YES_NO = _words("Yes No")
# `territorial_scope`: the database's EUROPEAN_COUNTRY_CODES, i.e. the EEA (EU + IS, LI, NO);
# Greece is GR there, not the EU's EL.
EEA_COUNTRIES = _words("""
    AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE SI SK
""")
# `content_language`: ISO 639-1, upper case (the database's EuropeanLanguagesService).
LANGUAGES = _words("""
    AA AB AE AF AK AM AN AR AS AV AY AZ BA BE BG BH BI BM BN BO BR BS CA CE CH CO CR CS CU CV
    CY DA DE DV DZ EE EL EN EO ES ET EU FA FF FI FJ FO FR FY GA GD GL GN GU GV HA HE HI HO HR
    HT HU HY HZ IA ID IE IG II IK IO IS IT IU JA JV KA KG KI KJ KK KL KM KN KO KR KS KU KV KW
    KY LA LB LG LI LN LO LT LU LV MG MH MI MK ML MN MR MS MT MY NA NB ND NE NG NL NN NO NR NV
    NY OC OJ OM OR OS PA PI PL PS PT QU RM RN RO RU RW SA SC SD SE SG SI SK SL SM SN SO SQ SR
    SS ST SU SV SW TA TE TG TH TI TK TL TN TO TR TS TT TW TY UG UK UR UZ VE VI VO WA WO XH YI
    YO ZA ZH ZU
""")

ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"
INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
_DECISIONS = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")
END_DATES = (
    "end_date_account_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
)


class Problem(NamedTuple):
    """One broken rule: the field, the rule's name (as the database calls it) and why."""

    field: str
    rule: str
    message: str


@dataclass(frozen=True)
class Rule:
    """`field` must satisfy `rule` (with `arg`). Rules are checked in table order."""

    field: str
    rule: str
    arg: Any = None


def _r(field: str, *rules: tuple[str, Any] | str) -> list[Rule]:
    return [Rule(field, r) if isinstance(r, str) else Rule(field, *r) for r in rules]


def _others(field: str) -> tuple[str, ...]:
    return tuple(d for d in _DECISIONS if d != field)


# One row per field, in the database's order. `in` on an `array` field checks every element.
RULES: tuple[Rule, ...] = (
    *_r(
        "decision_visibility",
        "array",
        ("in", DECISION_VISIBILITIES),
        ("required_without_all", _others("decision_visibility")),
    ),
    *_r(
        "decision_visibility_other",
        ("required_if", ("decision_visibility", "DECISION_VISIBILITY_OTHER")),
        ("max", 500),
    ),
    *_r(
        "decision_monetary",
        ("in", DECISION_MONETARIES),
        ("required_without_all", _others("decision_monetary")),
    ),
    *_r(
        "decision_monetary_other",
        ("required_if", ("decision_monetary", "DECISION_MONETARY_OTHER")),
        ("max", 500),
    ),
    *_r(
        "decision_provision",
        ("in", DECISION_PROVISIONS),
        ("required_without_all", _others("decision_provision")),
    ),
    *_r(
        "decision_account",
        ("in", DECISION_ACCOUNTS),
        ("required_without_all", _others("decision_account")),
    ),
    *_r("account_type", ("in", ACCOUNT_TYPES)),
    *_r("category_specification", "array", ("in", KEYWORDS)),
    *_r("category_specification_other", ("max", 500)),
    *_r("decision_ground", "required", ("in", DECISION_GROUNDS)),
    *_r("decision_ground_reference_url", "url", ("max", 500)),
    *_r(
        "illegal_content_legal_ground", ("required_if", ("decision_ground", ILLEGAL)), ("max", 500)
    ),
    *_r(
        "illegal_content_explanation", ("required_if", ("decision_ground", ILLEGAL)), ("max", 2000)
    ),
    *_r(
        "incompatible_content_ground",
        ("required_if", ("decision_ground", INCOMPATIBLE)),
        ("max", 500),
    ),
    *_r(
        "incompatible_content_explanation",
        ("required_if", ("decision_ground", INCOMPATIBLE)),
        ("max", 2000),
    ),
    *_r("incompatible_content_illegal", ("in", YES_NO)),
    *_r("content_type", "array", "required", ("in", CONTENT_TYPES)),
    *_r(
        "content_type_other", ("required_if", ("content_type", "CONTENT_TYPE_OTHER")), ("max", 500)
    ),
    *_r("category", "required", ("in", CATEGORIES)),
    *_r("category_addition", "array", ("in", CATEGORIES)),
    *_r("territorial_scope", "array", ("in", EEA_COUNTRIES)),
    *_r("content_language", ("in", LANGUAGES)),
    *_r(
        "content_date",
        "required",
        "date_format",
        ("after_or_equal", date(2000, 1, 1)),
        ("before_or_equal", date(2038, 1, 1)),
    ),
    *_r(
        "application_date",
        "required",
        "date_format",
        ("after_or_equal", date(2020, 1, 1)),
        ("before_or_equal", date(2038, 1, 1)),
    ),
    *[
        rule
        for end in END_DATES
        for rule in _r(end, "date_format", ("before_or_equal", date(2038, 1, 1)))
    ],
    *_r("decision_facts", "required", ("max", 5000)),
    *_r("source_type", "required", ("in", SOURCE_TYPES)),
    *_r("source_identity", ("max", 500)),
    *_r("automated_detection", "required", ("in", YES_NO)),
    *_r("automated_decision", "required", ("in", AUTOMATED_DECISIONS)),
    *_r("puid", "required", ("max", 500), ("regex", re.compile(r"[a-zA-Z0-9_-]+"))),
)
KNOWN_FIELDS = frozenset(rule.field for rule in RULES)
ARRAY_FIELDS = frozenset(rule.field for rule in RULES if rule.rule == "array")
# Published as free text: where personal data could slip in.
FREE_TEXT_FIELDS = (
    "decision_visibility_other",
    "decision_monetary_other",
    "category_specification_other",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "content_type_other",
    "decision_facts",
    "source_identity",
)

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A run of digits with phone punctuation between them; judged by its digit count below.
_PHONE = re.compile(r"(?<![\w/.-])(?:\+|00)?\(?\d[\d\s().-]{5,}\d(?![\w/])")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def validate(statement: Mapping[str, Any]) -> list[Problem]:
    """Every rule the statement breaks, in rule-table order; empty when it may be sent."""
    problems = [
        Problem(field, "known_field", f"{field} is not a field of a statement of reasons.")
        for field in statement
        if field not in KNOWN_FIELDS
    ]
    failed: set[str] = set()
    for rule in RULES:
        if rule.field in failed:
            continue  # like the database: one message per field is enough to fix it
        message = _check(rule, statement)
        if message is not None:
            failed.add(rule.field)
            problems.append(Problem(rule.field, rule.rule, message))
    problems.extend(personal_data(statement))
    return problems


def personal_data(statement: Mapping[str, Any]) -> list[Problem]:
    """E-mail addresses and phone-number-like strings in the published free-text fields."""
    problems = []
    for field in FREE_TEXT_FIELDS:
        value = statement.get(field)
        if not isinstance(value, str):
            continue
        if _EMAIL.search(value):
            problems.append(Problem(field, "no_personal_data", f"{field} has an e-mail address."))
        elif any(_looks_like_phone(m.group()) for m in _PHONE.finditer(value)):
            problems.append(Problem(field, "no_personal_data", f"{field} has a phone number."))
    return problems


def _looks_like_phone(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return 8 <= digits <= 15 and not _ISO_DATE.fullmatch(text.strip())


def _present(value: Any) -> bool:
    """Laravel's `required`: not missing, not null, not blank, not an empty list."""
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, list | tuple | dict):
        return len(value) > 0
    return True


def _check(rule: Rule, statement: Mapping[str, Any]) -> str | None:
    value = statement.get(rule.field)
    name = rule.field
    if rule.rule == "required":
        return None if _present(value) else f"{name} is required."
    if rule.rule == "required_if":
        other, wanted = rule.arg
        current = statement.get(other)
        applies = wanted in current if isinstance(current, list) else current == wanted
        if applies and not _present(value):
            return f"{name} is required when {other} is {wanted}."
        return None
    if rule.rule == "required_without_all":
        if not _present(value) and not any(_present(statement.get(f)) for f in rule.arg):
            return f"{name} is required when none of {', '.join(rule.arg)} is given."
        return None
    if value is None:
        return None  # the remaining rules apply only to values that are there
    return _check_value(rule, name, value)


def _check_value(rule: Rule, name: str, value: Any) -> str | None:
    if rule.rule == "array":
        return None if isinstance(value, list) else f"{name} must be a list."
    if rule.rule == "in":
        values = value if isinstance(value, list) and name in ARRAY_FIELDS else [value]
        wrong = [v for v in values if not isinstance(v, str) or v not in rule.arg]
        return f"{name}: {wrong[0]!r} is not an allowed value." if wrong else None
    if rule.rule == "max":
        if not isinstance(value, str):
            return f"{name} must be text."
        return f"{name} is over {rule.arg} characters." if len(value) > rule.arg else None
    if rule.rule == "regex":
        ok = isinstance(value, str) and rule.arg.fullmatch(value)
        return None if ok else f"{name} may only hold letters, digits, '-' and '_'."
    if rule.rule == "url":
        return None if _is_url(value) else f"{name} must be an http(s) URL."
    day = _day(value)
    if rule.rule == "date_format":
        return None if day is not None else f"{name} must be a date written YYYY-MM-DD."
    if day is None:
        return None  # date_format already said so
    if rule.rule == "after_or_equal" and day < rule.arg:
        return f"{name} must be on or after {rule.arg.isoformat()}."
    if rule.rule == "before_or_equal" and day > rule.arg:
        return f"{name} must be on or before {rule.arg.isoformat()}."
    return None


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value
