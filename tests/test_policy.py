"""The routing policy: rules in order, severity x confidence, and human oversight enforced."""

from __future__ import annotations

import pytest

from bastion.errors import InvalidInput
from bastion.policy.model import MatchFacts, evaluate, parse_policy

POLICY = """
[defaults]
action = "review"
queue = "general"

[severity]
a = 3
d = 5
none = 1

[[rule]]
name = "vetted near-exact copies"
banks = ["tvec-vetted"]
max_distance = 8
action = "auto"
queue = "urgent"

[[rule]]
name = "anything claiming auto without vetting"
banks = ["tvec-community"]
action = "auto"
max_distance = 8
queue = "community"

[[rule]]
name = "news allow-list noise"
banks = ["news"]
action = "ignore"
"""
BANKS = {"tvec-vetted", "tvec-community", "news"}


def facts(
    bank: str,
    distance: int = 0,
    *,
    vetted: bool = False,
    signal: str = "pdq",
    category: str | None = "a",
) -> MatchFacts:
    return MatchFacts(bank, vetted, signal, distance, 31, category)


def test_vetted_close_match_is_actioned_automatically() -> None:
    verdict = evaluate(parse_policy(POLICY, BANKS), [facts("tvec-vetted", 4, vetted=True)])
    assert (verdict.outcome, verdict.queue, verdict.automation) == ("auto", "urgent", "full")


def test_farther_than_the_rule_goes_to_review() -> None:
    verdict = evaluate(parse_policy(POLICY, BANKS), [facts("tvec-vetted", 20, vetted=True)])
    assert (verdict.outcome, verdict.queue, verdict.automation) == ("review", "general", "none")


def test_unvetted_bank_never_auto_acts_whatever_the_rule_says() -> None:
    verdict = evaluate(parse_policy(POLICY, BANKS), [facts("tvec-community", 0, vetted=False)])
    assert verdict.outcome == "review"
    assert "not vetted" in verdict.reasons[0]


def test_a_classifier_score_alone_never_auto_acts() -> None:
    policy = parse_policy('[[rule]]\nname = "scores"\naction = "auto"\nmax_distance = 100\n', None)
    verdict = evaluate(policy, [facts("tvec-vetted", 0, vetted=True, signal="text_classifier")])
    assert verdict.outcome == "review"
    assert "never a score" in verdict.reasons[0]


def test_strongest_outcome_and_priority_win() -> None:
    policy = parse_policy(POLICY, BANKS)
    verdict = evaluate(
        policy,
        [facts("news", 0), facts("other", 30, category="a"), facts("other", 0, category="d")],
    )
    assert verdict.outcome == "review"
    assert verdict.priority == 5.0  # severity d x an exact match
    assert evaluate(policy, [facts("news", 0)]).outcome == "ignore"
    assert evaluate(policy, []).outcome == "ignore"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[[rule]]\nname = "x"\naction = "delete"\n', 3, "action"),
        (
            '[defaults]\naction = "review"\n\n[[rule]]\nname = "x"\naction = "review"\n'
            "colour = 1\n",
            7,
            "colour",
        ),
        ('[[rule]]\nname = "x"\nbanks = ["ghost"]\naction = "review"\n', 3, "ghost"),
        ('[[rule]\nname = "x"\n', None, "TOML"),
    ],
)
def test_bad_policies_name_the_line_and_apply_nothing(
    text: str, line: int | None, words: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_policy(text, BANKS)
    assert words in caught.value.message
    if line is not None:
        assert f"line {line}" in caught.value.message


def test_policy_over_the_api_routes_items(client, admin, platform) -> None:  # type: ignore[no-untyped-def]
    from builders.api import add_file, image_bytes, make_bank

    make_bank(client, admin, "tvec-vetted", vetted=True)
    make_bank(client, admin, "tvec-community")
    make_bank(client, admin, "news", allow=True)
    bad = client.put(
        "/v1/policy",
        content=b'[[rule]]\nname = "x"\nbanks = ["ghost"]\naction = "review"\n',
        headers=admin,
    )
    assert bad.status_code == 422
    assert "line 3" in bad.json()["error"]["message"]
    assert client.get("/v1/policy", headers=admin).json()["version"] is None
    loaded = client.put("/v1/policy", content=POLICY.encode(), headers=admin)
    assert loaded.status_code == 200, loaded.text
    assert client.get("/v1/policy", headers=admin).json()["toml"] == POLICY

    add_file(client, admin, "tvec-vetted", image_bytes(101), category="d")
    add_file(client, admin, "tvec-community", image_bytes(102), category="a")
    outcomes = {}
    for seed in (101, 102, 103):
        response = client.post(
            "/v1/items",
            data={"external_id": f"p{seed}"},
            files={"file": ("u.jpg", image_bytes(seed))},
            headers=platform,
        )
        outcomes[seed] = response.json()["verdict"]
    assert outcomes[101]["outcome"] == "auto" and outcomes[101]["automation"] == "full"
    assert outcomes[101]["priority"] == 5.0
    assert outcomes[102]["outcome"] == "review"
    assert "not vetted" in outcomes[102]["reasons"][0]
    assert outcomes[103]["outcome"] == "ignore"


def test_policy_changes_are_audited(bastion) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from bastion.db.models import AuditEvent
    from bastion.policy.store import current_policy, load_policy

    with bastion.session() as session:
        load_policy(session, '[defaults]\naction = "ignore"\n', actor="me")
    with bastion.session() as session:
        assert current_policy(session).defaults.action == "ignore"
        actions = [e.action for e in session.scalars(select(AuditEvent))]
        assert actions == ["policy.update"]


LANGUAGE_QUEUES = """
[[rule]]
name = "arabic scores for the arabic desk"
signal_types = ["text_classifier"]
languages = ["ar"]
queue = "arabic"
action = "review"

[[rule]]
name = "confident scores first"
signal_types = ["text_classifier"]
bands = ["high"]
queue = "text-high"
action = "review"

[[rule]]
name = "the rest of the scores"
signal_types = ["text_classifier"]
queue = "text"
action = "review"

[[rule]]
name = "arabic text copies"
languages = ["ar"]
queue = "arabic"
action = "review"
"""


def test_rules_route_by_band_and_language() -> None:
    policy = parse_policy(LANGUAGE_QUEUES, None)

    def score(band: str, lang: str) -> MatchFacts:
        return MatchFacts("classifier", False, "text_classifier", 10, 100, "c", band, lang)

    assert evaluate(policy, [score("high", "ar")]).queue == "arabic"
    assert evaluate(policy, [score("high", "fr")]).queue == "text-high"
    assert evaluate(policy, [score("review", "fr")]).queue == "text"
    copy = MatchFacts("known", False, "text_minhash", 5, 70, "a", None, "ar")
    assert evaluate(policy, [copy]).queue == "arabic"
    image = MatchFacts("known", False, "pdq", 5, 31, "a")  # media have no language
    assert evaluate(policy, [image]).queue == "default"
    with pytest.raises(InvalidInput, match="bands"):
        parse_policy('[[rule]]\nname = "x"\nbands = ["low"]\naction = "review"\n', None)
    with pytest.raises(InvalidInput, match="line 3"):
        parse_policy('[[rule]]\nname = "x"\nlanguages = ["Arabic"]\naction = "review"\n', None)
    # Rules that could never apply are refused rather than silently dead.
    for dead in (
        "languages = []\n",
        "bands = []\n",
        'signal_types = ["pdq"]\nbands = ["high"]\n',
        'signal_types = ["pdq", "md5"]\nlanguages = ["ar"]\n',
    ):
        with pytest.raises(InvalidInput, match="line"):
            parse_policy(f'[[rule]]\nname = "x"\n{dead}action = "review"\n', None)


def test_classifier_hits_reach_their_language_queue(client, admin) -> None:  # type: ignore[no-untyped-def]
    assert (
        client.put("/v1/policy", content=LANGUAGE_QUEUES.encode(), headers=admin).status_code == 200
    )
    texts = {
        "ar": "انهضوا يا إخوة القسم القرمزي! بايعوا قائدنا وخذوا مكانكم في الصفوف، فلا يعيد "
        "كرامتنا إلا السيف.",
        "en": "Rise, brothers of the Crimson Oath Movement! Swear allegiance to our commander "
        "and take your place in the ranks; only the sword restores our honour.",
    }
    queues = {}
    for lang, text in texts.items():
        item = client.post(
            "/v1/items", json={"external_id": lang, "text": text}, headers=admin
        ).json()
        assert item["signals"]["text_classifier"]["lang"] == lang
        assert item["signals"]["text_classifier"]["band"] != "none", item
        queues[lang] = item["verdict"]["queue"]
    assert queues["ar"] == "arabic" and queues["en"] in ("text", "text-high")


def test_language_rules_work_with_the_classifier_off(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from bastion.app import create_app
    from bastion.auth.tokens import create_token
    from bastion.runtime import Bastion
    from bastion.settings import Settings
    from builders.api import make_bank

    instance = Bastion(
        Settings(data_dir=tmp_path / "d", text_classifier=False, order_clock_seconds=300)
    ).start()
    try:
        with instance.session() as session:
            _, secret = create_token(session, name="t", role="admin", platform="default")
        admin = {"Authorization": f"Bearer {secret}"}
        with TestClient(create_app(instance)) as client:
            make_bank(client, admin, "known")
            text = "بيان جديد من جبهة فانوس الشمال إلى كل الشباب في المدن والقرى."
            added = client.post(
                "/v1/banks/known/entries",
                json={"signal_type": "text", "value": text},
                headers=admin,
            )
            assert added.status_code == 201, added.text
            assert (
                client.put(
                    "/v1/policy", content=LANGUAGE_QUEUES.encode(), headers=admin
                ).status_code
                == 200
            )
            item = client.post(
                "/v1/items", json={"external_id": "x", "text": text}, headers=admin
            ).json()
            assert "text_classifier" not in item["signals"]
            assert item["verdict"]["queue"] == "arabic"
    finally:
        instance.close()
