"""End to end through the real app: banks, entries, matching, on SQLite and Postgres."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

from builders.api import add_file, add_hash, cropped_bytes, image_bytes, make_bank, match_file
from builders.images import encode, generated_image


def test_hash_returns_pdq_quality_and_digests(client: TestClient, platform: dict[str, str]) -> None:
    data = image_bytes(1)
    response = client.post("/v1/hash", files={"file": ("a.jpg", data)}, headers=platform)
    assert response.status_code == 200, response.text
    signals = response.json()["signals"]
    assert signals["md5"] == hashlib.md5(data).hexdigest()
    assert signals["sha256"] == hashlib.sha256(data).hexdigest()
    assert len(signals["pdq"]["hash"]) == 64
    assert signals["pdq"]["quality"] >= 50
    assert signals["pdq"]["matchable"] is True


def test_hash_of_a_non_image_has_digests_only(client: TestClient, platform: dict[str, str]) -> None:
    data = b"%PDF-1.4 a document that is not an image"
    response = client.post("/v1/hash", files={"file": ("a.pdf", data)}, headers=platform)
    assert response.status_code == 200
    assert response.json()["signals"] == {
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def test_reupload_cropped_and_recompressed_matches_with_labels(
    client: TestClient, admin: dict[str, str], platform: dict[str, str]
) -> None:
    make_bank(client, admin, "tvec")
    entry = add_file(
        client,
        admin,
        "tvec",
        image_bytes(7),
        category="a",
        entities="invented-front",
        source="moderator",
        note="poster",
    )
    body = match_file(client, platform, cropped_bytes(7))
    assert [m["entry_id"] for m in body["matches"]] == [entry["id"]]
    found = body["matches"][0]
    assert found["bank"] == "tvec"
    assert found["signal_type"] == "pdq"
    assert 0 <= found["distance"] <= 31
    assert found["labels"]["category"] == "a"
    assert found["labels"]["entities"] == ["invented-front"]
    assert found["labels"]["source"] == "moderator"


def test_rotated_and_mirrored_copies_match(
    client: TestClient, admin: dict[str, str], platform: dict[str, str]
) -> None:
    make_bank(client, admin, "tvec")
    add_file(client, admin, "tvec", image_bytes(11))
    original = generated_image(11)
    for edited in (original.rotate(90, expand=True), original.transpose(0)):
        body = match_file(client, platform, encode(edited))
        assert len(body["matches"]) == 1
        assert body["matches"][0]["transform"] != "original"


def test_unrelated_images_do_not_match(
    client: TestClient, admin: dict[str, str], platform: dict[str, str]
) -> None:
    make_bank(client, admin, "tvec")
    for seed in range(20, 25):
        add_file(client, admin, "tvec", image_bytes(seed))
    for seed in range(30, 35):
        assert match_file(client, platform, image_bytes(seed))["matches"] == []


def test_exact_file_digest_matches_any_file(
    client: TestClient, admin: dict[str, str], platform: dict[str, str]
) -> None:
    make_bank(client, admin, "docs")
    document = b"%PDF-1.4 an invented group's magazine, issue 3"
    entry = add_file(client, admin, "docs", document)
    body = match_file(client, platform, document)
    assert body["matches"][0]["entry_id"] == entry["id"]
    assert body["matches"][0]["signal_type"] == "sha256"
    assert body["matches"][0]["distance"] == 0


def test_raw_hash_entries_and_value_queries(
    client: TestClient, admin: dict[str, str], platform: dict[str, str]
) -> None:
    make_bank(client, admin, "shared", pdq_threshold=20)
    pdq = "f" * 32 + "0" * 32
    near = "f" * 31 + "e" + "0" * 32  # one bit away
    far = "0" * 32 + "f" * 32
    add_hash(client, admin, "shared", "pdq", pdq, labels={"category": "c", "source": "gifct"})
    add_hash(client, admin, "shared", "md5", "D41D8CD98F00B204E9800998ECF8427E")
    for value, expected in ((near, 1), (far, 0)):
        response = client.post(
            "/v1/match", json={"signal_type": "pdq", "value": value}, headers=platform
        )
        assert response.status_code == 200, response.text
        assert len(response.json()["matches"]) == expected
    response = client.post(
        "/v1/match",
        json={"signal_type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e"},
        headers=platform,
    )
    assert response.json()["matches"][0]["signal_type"] == "md5"


def test_url_entries_match_canonical_spellings(
    client: TestClient, admin: dict[str, str], platform: dict[str, str]
) -> None:
    make_bank(client, admin, "links")
    add_hash(client, admin, "links", "url", "https://media.example.org/v/abc123?utm_source=x")
    response = client.post(
        "/v1/match",
        json={"signal_type": "url", "value": "HTTP://WWW.Media.Example.org:80/v/abc123/#top"},
        headers=platform,
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["matches"]) == 1


def test_per_bank_threshold_is_exact(
    client: TestClient, admin: dict[str, str], platform: dict[str, str]
) -> None:
    make_bank(client, admin, "strict", pdq_threshold=3)
    base = bytearray(32)
    add_hash(client, admin, "strict", "pdq", base.hex())
    for flips, expected in ((3, 1), (4, 0)):
        query = bytearray(base)
        for bit in range(flips):
            query[bit] ^= 0x80
        response = client.post(
            "/v1/match", json={"signal_type": "pdq", "value": query.hex()}, headers=platform
        )
        assert len(response.json()["matches"]) == expected, flips


def test_allow_list_suppresses_other_banks(
    client: TestClient, admin: dict[str, str], platform: dict[str, str]
) -> None:
    make_bank(client, admin, "tvec")
    make_bank(client, admin, "news", allow=True)
    data = image_bytes(41)
    add_file(client, admin, "tvec", data)
    add_file(client, admin, "news", data)
    body = match_file(client, platform, data)
    assert body["matches"] == []
    assert [m["bank"] for m in body["allow_matches"]] == ["news"]
    assert [m["bank"] for m in body["suppressed"]] == ["tvec"]


def test_disabled_bank_and_removed_entry_stop_matching_at_once(
    client: TestClient, admin: dict[str, str], platform: dict[str, str]
) -> None:
    make_bank(client, admin, "tvec")
    data = image_bytes(51)
    entry = add_file(client, admin, "tvec", data)
    assert len(match_file(client, platform, data)["matches"]) == 1
    client.patch("/v1/banks/tvec", json={"enabled": False}, headers=admin)
    assert match_file(client, platform, data)["matches"] == []
    client.patch("/v1/banks/tvec", json={"enabled": True}, headers=admin)
    deleted = client.delete(f"/v1/banks/tvec/entries/{entry['id']}", headers=admin)
    assert deleted.status_code == 200
    assert match_file(client, platform, data)["matches"] == []


def test_low_quality_images_are_hashed_but_never_matched(
    client: TestClient, admin: dict[str, str], platform: dict[str, str]
) -> None:
    from PIL import Image

    flat = encode(Image.new("RGB", (400, 300), (120, 130, 140)))
    make_bank(client, admin, "tvec")
    add_hash(client, admin, "tvec", "pdq", "0" * 64)
    body = match_file(client, platform, flat)
    assert body["signals"]["pdq"]["quality"] < 50
    assert body["matches"] == [] or all(m["signal_type"] != "pdq" for m in body["matches"])
    assert any("quality" in note for note in body["notes"])


def test_full_resolution_hashes_from_other_tools_match(
    client: TestClient, admin: dict[str, str], platform: dict[str, str]
) -> None:
    """A hash list made by Meta's tools at full resolution still matches our fast path."""
    import numpy as np
    import pdqhash

    make_bank(client, admin, "shared")
    big = [generated_image(seed).resize((2400, 1800)) for seed in (81, 82, 83)]
    for picture in big:
        bits, _quality = pdqhash.compute(np.asarray(picture))
        full_res_hex = np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()
        add_hash(client, admin, "shared", "pdq", full_res_hex, labels={"source": "gifct"})
    for picture in big:
        body = match_file(client, platform, encode(picture, "JPEG", 85))
        assert len(body["matches"]) == 1
        assert body["matches"][0]["distance"] <= 12


def test_rotation_matching_can_be_turned_off(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bastion.runtime import Bastion
    from bastion.settings import Settings
    from bastion.signals.file_signals import compute_file_signals

    original = generated_image(91)
    outcomes = {}
    for dihedral in (True, False):
        bastion = Bastion(Settings(data_dir=tmp_path / str(dihedral), pdq_dihedral=dihedral))
        bastion.start()
        with bastion.session() as session:
            from bastion.banks import entries, service
            from bastion.banks.labels import EntryLabels

            bank = service.create_bank(
                session, service.BankCreate(name="tvec"), default_threshold=31, actor="test"
            )
            known = compute_file_signals(encode(original), max_pixels=10**8)
            rows = entries.file_signal_rows(known)
            entries.add_entry(session, bank, rows, EntryLabels(), origin="file", actor="test")
        with bastion.session() as session:
            rotated = compute_file_signals(
                encode(original.rotate(90, expand=True)), max_pixels=10**8
            )
            outcomes[dihedral] = len(bastion.matcher.match_file(session, rotated).matches)
        bastion.close()
    assert outcomes == {True: 1, False: 0}
