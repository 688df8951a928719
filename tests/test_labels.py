"""Entry labels: TCO categories, normalised tags, source and note."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bastion.banks.labels import (
    CATEGORY_DESCRIPTIONS,
    MAX_NOTE_LENGTH,
    MAX_TAGS,
    EntryLabels,
    build_labels,
    parse_category,
    tag_from_text,
)
from bastion.errors import InvalidInput


def test_defaults_are_empty() -> None:
    labels = EntryLabels()
    assert labels.category is None
    assert labels.behaviours == []
    assert labels.entities == []
    assert labels.source is None
    assert labels.note is None


def test_every_category_has_a_description() -> None:
    assert list(CATEGORY_DESCRIPTIONS) == ["a", "b", "c", "d", "e"]
    assert all(len(text) > 10 for text in CATEGORY_DESCRIPTIONS.values())


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("a", "a"),
        ("A", "a"),
        (" e ", "e"),
        ("(b)", "b"),
        ("2(7)(c)", "c"),
        ("2(7)c", "c"),
        ("2 (7) (d)", "d"),
        ("Art. 2(7)(a)", "a"),
        ("article 2(7)(e)", "e"),
        ("incitement", "a"),
        ("Glorification", "a"),
        ("solicitation to commit", "b"),
        ("solicitation_to_participate", "c"),
        ("Solicitation-To-Participate", "c"),
        ("recruitment", "c"),
        ("instruction", "d"),
        ("instructions", "d"),
        ("threat", "e"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_parse_category(text: str | None, category: str | None) -> None:
    assert parse_category(text) == category


@pytest.mark.parametrize("text", ["f", "2(7)(f)", "solicitation", "terrorism", "ab", "2(8)(a)"])
def test_parse_category_rejects_unknown_text(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_category(text)
    assert caught.value.code == "unknown_category"
    assert "a-e" in caught.value.message


def test_model_accepts_the_same_category_spellings() -> None:
    assert EntryLabels.model_validate({"category": "Incitement"}).category == "a"
    assert EntryLabels.model_validate({"category": "2(7)(d)"}).category == "d"
    assert EntryLabels.model_validate({"category": ""}).category is None
    with pytest.raises(ValidationError):
        EntryLabels.model_validate({"category": "z"})


def test_tags_are_stripped_lowercased_and_deduplicated() -> None:
    labels = EntryLabels(
        behaviours=[" Recruitment ", "recruitment", "RECRUITMENT", "", "glorification"],
        entities=["Islamic_State", "islamic_state", "ideology:far-right", "org.v2"],
    )
    assert labels.behaviours == ["recruitment", "glorification"]
    assert labels.entities == ["islamic_state", "ideology:far-right", "org.v2"]


@pytest.mark.parametrize("tag", ["has space", "ünïcode", "semi;colon", "a" * 65, "pipe|tag"])
def test_bad_tags_are_rejected(tag: str) -> None:
    with pytest.raises(ValidationError):
        EntryLabels(entities=[tag])


def test_longest_tag_is_accepted() -> None:
    assert EntryLabels(behaviours=["a" * 64]).behaviours == ["a" * 64]


def test_tag_count_is_bounded() -> None:
    EntryLabels(entities=[f"e{i}" for i in range(MAX_TAGS)])
    with pytest.raises(ValidationError):
        EntryLabels(entities=[f"e{i}" for i in range(MAX_TAGS + 1)])


def test_source_is_a_tag() -> None:
    assert EntryLabels(source=" GIFCT ").source == "gifct"
    assert EntryLabels(source="").source is None
    with pytest.raises(ValidationError):
        EntryLabels(source="Tech Against Terrorism")


def test_note_is_trimmed_and_bounded() -> None:
    assert EntryLabels(note="  look at 0:42 \n").note == "look at 0:42"
    assert EntryLabels(note="   ").note is None
    assert EntryLabels(note="x" * MAX_NOTE_LENGTH).note == "x" * MAX_NOTE_LENGTH
    with pytest.raises(ValidationError):
        EntryLabels(note="x" * (MAX_NOTE_LENGTH + 1))


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError):
        EntryLabels.model_validate({"categroy": "a"})


def test_labels_are_immutable() -> None:
    labels = EntryLabels(category="a")
    with pytest.raises(ValidationError):
        labels.category = "b"  # type: ignore[misc]


def test_json_round_trip() -> None:
    labels = EntryLabels(category="d", behaviours=["x"], entities=["y"], source="tcap", note="n")
    assert EntryLabels.model_validate_json(labels.model_dump_json()) == labels


def test_build_labels_names_the_bad_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        build_labels(entities=["ok", "not ok"])
    assert caught.value.message.startswith("entities: tag 'not ok'")
    with pytest.raises(InvalidInput) as caught:
        build_labels(category="nope")
    assert caught.value.message.startswith("category: Unknown category 'nope'")


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("Islamic State", "islamic_state"),
        ("  Al-Shabaab ", "al-shabaab"),
        ("Hayat Tahrir al-Sham (HTS)", "hayat_tahrir_al-sham_hts"),
        ("Ansar al-Sharīʿa", "ansar_al-shari_a"),
        ("Atomwaffen Division", "atomwaffen_division"),
        ("x" * 100, "x" * 64),
    ],
)
def test_tag_from_text(text: str, tag: str) -> None:
    assert tag_from_text(text) == tag
    assert EntryLabels(entities=[tag]).entities == [tag]


def test_tag_from_text_needs_some_latin_letters_or_digits() -> None:
    with pytest.raises(InvalidInput):
        tag_from_text("داعش")
