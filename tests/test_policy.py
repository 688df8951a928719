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
