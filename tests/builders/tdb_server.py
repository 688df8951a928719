"""A stand-in for the DSA Transparency Database's submission API, served over real HTTP.

Written from the database's own code (digital-services-act/transparency-database:
StatementMultipleAPIController, StatementAPIController, GroupedSubmissionsService rules,
PuidNotUnique*Exception responses), and deliberately NOT from Bastion's rule table, so a test
that sends through both catches a divergence between them.

- `POST /api/v1/statement` (one) and `POST /api/v1/statements` (`{"statements": [...]}`,
  1-100): 201 when stored; 422 `{"errors": {"statement_<i>": {field: [msg]}}}` when any
  statement breaks a rule (nothing of the batch is stored); 422 with `existing_puids` when a
  PUID is repeated or already stored.
- `GET /api/v1/statement/existing-puid/{puid}`: 302 if stored, else 404.
- Bearer token; 401 otherwise.
- Switches: `fail_next(n, status)` answers the next n POSTs with `status`; `hang_next(n,
  store=...)` holds the next n POSTs (after storing them, or not) until the client gives up;
  `refuse(puid, field, message)` makes one statement fail a rule this copy does not know.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _enum(prefix: str, names: str) -> set[str]:
    return {prefix + name for name in names.split()}


def _codes(names: str) -> set[str]:
    return set(names.split())


VISIBILITY = _enum(
    "DECISION_VISIBILITY_",
    "CONTENT_REMOVED CONTENT_DISABLED CONTENT_DEMOTED CONTENT_AGE_RESTRICTED "
    "CONTENT_INTERACTION_RESTRICTED CONTENT_LABELLED OTHER",
)
MONETARY = _enum("DECISION_MONETARY_", "SUSPENSION TERMINATION OTHER")
PROVISION = _enum(
    "DECISION_PROVISION_",
    "PARTIAL_SUSPENSION TOTAL_SUSPENSION PARTIAL_TERMINATION TOTAL_TERMINATION",
)
ACCOUNT = _enum("DECISION_ACCOUNT_", "SUSPENDED TERMINATED")
ACCOUNT_TYPE = _enum("ACCOUNT_TYPE_", "BUSINESS PRIVATE")
GROUND = _enum("DECISION_GROUND_", "ILLEGAL_CONTENT INCOMPATIBLE_CONTENT")
CONTENT_TYPE = _enum("CONTENT_TYPE_", "APP AUDIO IMAGE PRODUCT SYNTHETIC_MEDIA TEXT VIDEO OTHER")
CATEGORY = _enum(
    "STATEMENT_CATEGORY_",
    "ANIMAL_WELFARE CONSUMER_INFORMATION CYBER_VIOLENCE CYBER_VIOLENCE_AGAINST_WOMEN "
    "DATA_PROTECTION_AND_PRIVACY_VIOLATIONS ILLEGAL_OR_HARMFUL_SPEECH "
    "INTELLECTUAL_PROPERTY_INFRINGEMENTS NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS "
    "NOT_SPECIFIED_NOTICE OTHER_VIOLATION_TC PROTECTION_OF_MINORS RISK_FOR_PUBLIC_SECURITY "
    "SCAMS_AND_FRAUD SELF_HARM UNSAFE_AND_PROHIBITED_PRODUCTS VIOLENCE",
)
KEYWORD = _enum(
    "KEYWORD_",
    "ADULT_SEXUAL_MATERIAL AGE_SPECIFIC_RESTRICTIONS AGE_SPECIFIC_RESTRICTIONS_MINORS ANIMAL_HARM "
    "BIOMETRIC_DATA_BREACH BULLYING_AGAINST_GIRLS CHILD_SEXUAL_ABUSE_MATERIAL "
    "CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE CONTENT_PROMOTING_EATING_DISORDERS COORDINATED_HARM "
    "COPYRIGHT_INFRINGEMENT CYBER_BULLYING_INTIMIDATION CYBER_HARASSMENT "
    "CYBER_HARASSMENT_AGAINST_WOMEN CYBER_INCITEMENT CYBER_STALKING CYBER_STALKING_AGAINST_WOMEN "
    "DATA_FALSIFICATION DEFAMATION DESIGN_INFRINGEMENT DISCRIMINATION "
    "FEMALE_GENDERED_DISINFORMATION GEOGRAPHIC_INDICATIONS_INFRINGEMENT "
    "GEOGRAPHICAL_REQUIREMENTS GOODS_SERVICES_NOT_PERMITTED GROOMING_SEXUAL_ENTICEMENT_MINORS "
    "HATE_SPEECH HIDDEN_ADVERTISEMENT HUMAN_EXPLOITATION HUMAN_TRAFFICKING ILLEGAL_ORGANIZATIONS "
    "IMPERSONATION_ACCOUNT_HIJACKING INAUTHENTIC_ACCOUNTS INAUTHENTIC_LISTINGS "
    "INAUTHENTIC_USER_REVIEWS INCITEMENT_AGAINST_WOMEN INCITEMENT_VIOLENCE_HATRED "
    "INSUFFICIENT_INFORMATION_ON_TRADERS LANGUAGE_REQUIREMENTS MISINFORMATION_DISINFORMATION "
    "MISLEADING_INFO_CONSUMER_RIGHTS MISLEADING_INFO_GOODS_SERVICES MISSING_PROCESSING_GROUND "
    "NON_CONSENSUAL_IMAGE_SHARING NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN "
    "NON_CONSENSUAL_MATERIAL_DEEPFAKE NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN "
    "NONCOMPLIANCE_PRICING NUDITY PATENT_INFRINGEMENT PHISHING PROHIBITED_PRODUCTS "
    "PYRAMID_SCHEMES RIGHT_TO_BE_FORGOTTEN RISK_ENVIRONMENTAL_DAMAGE RISK_PUBLIC_HEALTH "
    "SELF_MUTILATION STALKING SUICIDE TERRORIST_CONTENT TRADE_SECRET_INFRINGEMENT "
    "TRADEMARK_INFRINGEMENT TRAFFICKING_WOMEN_GIRLS UNLAWFUL_SALE_ANIMALS UNSAFE_CHALLENGES "
    "UNSAFE_PRODUCTS VIOLATION_EU_LAW VIOLATION_NATIONAL_LAW OTHER",
)
SOURCE = {"SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER", "SOURCE_TYPE_OTHER_NOTIFICATION"} | {
    "SOURCE_VOLUNTARY"
}
AUTOMATED = _enum("AUTOMATED_DECISION_", "FULLY PARTIALLY NOT_AUTOMATED")
# EuropeanCountriesService::EUROPEAN_COUNTRY_CODES (EU 27 + Iceland, Liechtenstein, Norway).
COUNTRIES = _codes(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE SI SK"
)
# EuropeanLanguagesService::ALL_LANGUAGES (ISO 639-1, upper case).
LANGUAGES = _codes(
    "AB AA AF AK SQ AM AR AN HY AS AV AE AY AZ BM BA EU BE BN BH BI BS BR BG MY CA KM CH CE "
    "NY ZH CU CV KW CO CR HR CS DA DV NL DZ EN EO ET EE FO FJ FI FR FF GD GL LG KA DE KI EL "
    "KL GN GU HT HA HE HZ HI HO HU IS IO IG ID IA IE IU IK GA IT JA JV KN KR KS KK RW KV KG "
    "KO KJ KU KY LO LA LV LB LI LN LT LU MK MG MS ML MT GV MI MR MH RO MN NA NV ND NG NE SE "
    "NO NB NN II OC OJ OR OM OS PI PA PS FA PL PT QU RM RN RU SM SG SA SC SR SN SD SI SK SL "
    "SO ST NR ES SU SW SS SV TL TY TG TA TT TE TH BO TI TO TS TN TR TK TW UG UK UR UZ VE VI "
    "VO WA CY FY WO XH YI YO ZA ZU"
)


def _filled(value: Any) -> bool:
    return (
        value is not None
        and value != ""
        and value != []
        and not (isinstance(value, str) and not value.strip())
    )


def _ymd(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d\d\d\d-\d\d-\d\d", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def check_statement(s: dict[str, Any]) -> dict[str, list[str]]:
    """The database's validation of one statement: {field: [messages]}, empty when valid."""
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    def one_of(name: str, allowed: set[str], *, many: bool = False) -> None:
        value = s.get(name)
        if value is None:
            return
        if many:
            if not isinstance(value, list):
                fail(name, f"The {name} field must be an array.")
            elif any(v not in allowed for v in value):
                fail(name, f"The selected {name} is invalid.")
        elif value not in allowed:
            fail(name, f"The selected {name} is invalid.")

    def longest(name: str, limit: int) -> None:
        value = s.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            fail(name, f"The {name} field must not be greater than {limit} characters.")

    def need(name: str, when: bool = True) -> None:
        if when and not _filled(s.get(name)):
            fail(name, f"The {name} field is required.")

    decisions = (
        "decision_visibility",
        "decision_monetary",
        "decision_provision",
        "decision_account",
    )
    if not any(_filled(s.get(d)) for d in decisions):
        for d in decisions:
            fail(d, f"The {d} field is required when none of the other decisions are present.")
    one_of("decision_visibility", VISIBILITY, many=True)
    need(
        "decision_visibility_other",
        "DECISION_VISIBILITY_OTHER" in (s.get("decision_visibility") or []),
    )
    longest("decision_visibility_other", 500)
    one_of("decision_monetary", MONETARY)
    need("decision_monetary_other", s.get("decision_monetary") == "DECISION_MONETARY_OTHER")
    longest("decision_monetary_other", 500)
    one_of("decision_provision", PROVISION)
    one_of("decision_account", ACCOUNT)
    one_of("account_type", ACCOUNT_TYPE)
    one_of("category_specification", KEYWORD, many=True)
    longest("category_specification_other", 500)

    need("decision_ground")
    one_of("decision_ground", GROUND)
    url = s.get("decision_ground_reference_url")
    if url is not None and not re.match(r"https?://[^\s/$.?#][^\s]*$", str(url)):
        fail("decision_ground_reference_url", "The decision_ground_reference_url must be a URL.")
    longest("decision_ground_reference_url", 500)
    illegal = s.get("decision_ground") == "DECISION_GROUND_ILLEGAL_CONTENT"
    incompatible = s.get("decision_ground") == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    need("illegal_content_legal_ground", illegal)
    need("illegal_content_explanation", illegal)
    need("incompatible_content_ground", incompatible)
    need("incompatible_content_explanation", incompatible)
    if illegal:
        longest("illegal_content_legal_ground", 500)
        longest("illegal_content_explanation", 2000)
    if incompatible:
        longest("incompatible_content_ground", 500)
        longest("incompatible_content_explanation", 2000)
        one_of("incompatible_content_illegal", {"Yes", "No"})

    need("content_type")
    one_of("content_type", CONTENT_TYPE, many=True)
    need("content_type_other", "CONTENT_TYPE_OTHER" in (s.get("content_type") or []))
    longest("content_type_other", 500)
    need("category")
    one_of("category", CATEGORY)
    one_of("category_addition", CATEGORY, many=True)
    one_of("territorial_scope", COUNTRIES, many=True)
    one_of("content_language", LANGUAGES)

    for name, earliest, required in (
        ("content_date", date(2000, 1, 1), True),
        ("application_date", date(2020, 1, 1), True),
        ("end_date_account_restriction", None, False),
        ("end_date_monetary_restriction", None, False),
        ("end_date_service_restriction", None, False),
        ("end_date_visibility_restriction", None, False),
    ):
        need(name, required)
        value = s.get(name)
        if value is None:
            continue
        day = _ymd(value)
        if day is None:
            fail(name, f"The {name} does not match the format YYYY-MM-DD.")
        elif earliest is not None and day < earliest:
            fail(name, f"The {name} must be a date after or equal to {earliest}.")
        elif day > date(2038, 1, 1):
            fail(name, f"The {name} must be a date before or equal to 2038-01-01.")

    need("decision_facts")
    longest("decision_facts", 5000)
    need("source_type")
    one_of("source_type", SOURCE)
    longest("source_identity", 500)
    need("automated_detection")
    one_of("automated_detection", {"Yes", "No"})
    need("automated_decision")
    one_of("automated_decision", AUTOMATED)
    need("puid")
    longest("puid", 500)
    puid = s.get("puid")
    if isinstance(puid, str) and puid and not re.fullmatch(r"[a-zA-Z0-9_-]+", puid):
        fail("puid", "The puid field format is invalid.")
    return errors


@dataclass
class TdbState:
    """What the stand-in holds and how it is told to misbehave."""

    token: str
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, statements
    failures: list[int] = field(default_factory=list)
    hangs: list[bool] = field(default_factory=list)  # store before hanging?
    refusals: dict[str, tuple[str, str]] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class TdbServer:
    """The stand-in on 127.0.0.1 and a free port, in a thread; use as a context manager."""

    def __init__(self, token: str = "tdb-test-token") -> None:
        self.state = TdbState(token=token)
        state = self.state

        class Handler(_Handler):
            tdb = state

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> TdbServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next `count` POSTs with `status`, storing nothing."""
        self.state.failures.extend([status] * count)

    def hang_next(self, count: int, *, store: bool) -> None:
        """Hold the next `count` POSTs without answering (the client times out), after
        storing their statements (`store=True`: the answer got lost) or not."""
        self.state.hangs.extend([store] * count)

    def refuse(self, puid: str, field_name: str, message: str) -> None:
        """Make the statement with this PUID fail a rule Bastion does not know about."""
        self.state.refusals[puid] = (field_name, message)

    def batch_sizes(self) -> list[int]:
        """How many statements each POST carried, in order."""
        return [n for method, _, n in self.state.calls if method == "POST"]


class _Handler(BaseHTTPRequestHandler):
    tdb: TdbState

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.tdb.token}":
            return True
        self._send(401, {"message": "Unauthenticated."})
        return False

    def do_GET(self) -> None:
        prefix = "/api/v1/statement/existing-puid/"
        with self.tdb.lock:
            self.tdb.calls.append(("GET", self.path, 0))
        if not self._authorised():
            return
        if not self.path.startswith(prefix):
            self._send(404, {"message": "Not Found"})
            return
        puid = self.path[len(prefix) :]
        with self.tdb.lock:
            found = self.tdb.stored.get(puid)
        if found is None:
            self._send(404, {"message": "statement of reason not found"})
        else:
            self._send(302, found)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            body = None
        many = self.path == "/api/v1/statements"
        statements = (body or {}).get("statements") if many and isinstance(body, dict) else [body]
        count = len(statements) if isinstance(statements, list) else 0
        with self.tdb.lock:
            self.tdb.calls.append(("POST", self.path, count))
            failure = self.tdb.failures.pop(0) if self.tdb.failures else None
            hang = self.tdb.hangs.pop(0) if self.tdb.hangs else None
        if not self._authorised():
            return
        if failure is not None:
            self._send(failure, {"message": "Server Error"})
            return
        if self.path not in ("/api/v1/statement", "/api/v1/statements"):
            self._send(404, {"message": "Not Found"})
            return
        status, answer = self._store(statements, many, dry_run=hang is False)
        if hang is not None:
            self.tdb.release.wait(30)  # until the test ends; the client has long given up
            return
        self._send(status, answer)

    def _store(self, statements: Any, many: bool, *, dry_run: bool) -> tuple[int, Any]:
        if many and (not isinstance(statements, list) or not 1 <= len(statements) <= 100):
            return 422, {
                "message": "The statements field must have between 1 and 100 items.",
                "errors": {
                    "statements": ["The statements field must have between 1 and 100 items."]
                },
            }
        errors: dict[str, Any] = {}
        for index, statement in enumerate(statements):
            problems = (
                check_statement(statement)
                if isinstance(statement, dict)
                else {"statement": ["must be an object"]}
            )
            refusal = self.tdb.refusals.get(str((statement or {}).get("puid")))
            if refusal is not None:
                problems.setdefault(refusal[0], []).append(refusal[1])
            if problems:
                errors[f"statement_{index}"] = problems
        if errors:
            if not many:
                return 422, {
                    "message": "The given data was invalid.",
                    "errors": errors["statement_0"],
                }
            return 422, {"errors": errors}
        puids = [s["puid"] for s in statements]
        with self.tdb.lock:
            seen: set[str] = set()
            duplicates = []
            for puid in puids:
                if puid in self.tdb.stored or puid in seen:
                    duplicates.append(puid)
                seen.add(puid)
            if duplicates:
                if not many:
                    message = "The identifier given is not unique within this platform."
                    return 422, {
                        "message": message,
                        "errors": {"puid": [message]},
                        "existing": {"puid": duplicates[0]},
                    }
                message = "The platform identifier(s) are not all unique within this call."
                return 422, {
                    "message": message,
                    "errors": {"puid": [message], "existing_puids": duplicates},
                }
            if not dry_run:
                for statement in statements:
                    self.tdb.stored[statement["puid"]] = statement
        if not many:
            return 201, {**statements[0], "uuid": f"uuid-{puids[0]}"}
        return 201, {"statements": statements}
