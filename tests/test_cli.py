"""The CLI end to end in a subprocess, on the same data a server would use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bastion.db.migrate import MIGRATIONS
from bastion.settings import Settings
from builders.api import cropped_bytes, image_bytes


def bastion_cli(
    settings: Settings, *args: str, stdin: str | None = None, **variables: str
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bastion` against the test's data folder and database (more
    BASTION_* variables as keyword arguments: tdb_submit="false")."""
    env = {**os.environ, "BASTION_DATA_DIR": str(settings.data_dir)}
    env.update({f"BASTION_{k.upper()}": v for k, v in variables.items()})
    if settings.database_url:
        env["BASTION_DATABASE_URL"] = settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "bastion", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
    )


def lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_cli_bank_add_match_and_hashes(settings: Settings, tmp_path: Path) -> None:
    known = tmp_path / "known.jpg"
    known.write_bytes(image_bytes(61))
    reupload = tmp_path / "reupload.jpg"
    reupload.write_bytes(cropped_bytes(61))
    other = tmp_path / "other.jpg"
    other.write_bytes(image_bytes(62))

    assert bastion_cli(settings, "bank", "create", "tvec").returncode == 0
    added = bastion_cli(
        settings, "bank", "add", "tvec", str(known), "--category", "a", "--source", "moderator"
    )
    assert added.returncode == 0, added.stderr
    entry_id = lines(added)[0]["entry_id"]

    matched = bastion_cli(settings, "match", str(reupload), str(other))
    assert matched.returncode == 0, matched.stderr
    first, second = lines(matched)
    assert [m["entry_id"] for m in first["matches"]] == [entry_id]
    assert first["matches"][0]["labels"]["category"] == "a"
    assert second["matches"] == []

    hashed = bastion_cli(settings, "hash", str(known))
    pdq = lines(hashed)[0]["signals"]["pdq"]["hash"]
    hashes = tmp_path / "hashes.txt"
    hashes.write_text(f"{pdq}\n{'0' * 63}1\nnot-a-hash\n")
    by_hash = bastion_cli(settings, "match", "--hashes", str(hashes))
    results = lines(by_hash)
    assert [len(r.get("matches", [])) for r in results] == [1, 0, 0]
    assert results[2]["error"]["code"] == "malformed_hash"
    assert by_hash.returncode == 1


def test_cli_import_export_round_trip(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "list.csv"
    source.write_text(
        "signal_type,value,category,source\n"
        f"pdq,{'c' * 64},a,gifct\n"
        "url,https://example.org/a?utm_medium=x,b,tcap\n"
    )
    imported = bastion_cli(settings, "bank", "import", "shared", str(source), "--create")
    assert imported.returncode == 0, imported.stderr
    assert lines(imported)[0]["added"] == 2
    exported = bastion_cli(settings, "bank", "export", "shared", "--format", "jsonl")
    rows = lines(exported)
    assert {r["value"] for r in rows} == {"c" * 64, "https://example.org/a"}
    listed = lines(bastion_cli(settings, "bank", "list"))
    assert listed[0]["name"] == "shared" and listed[0]["entries"] == 2


def test_cli_errors_are_one_clean_line(settings: Settings, tmp_path: Path) -> None:
    missing = bastion_cli(settings, "bank", "add", "nope", "--hash", "md5:" + "0" * 32)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: No bank named 'nope'."
    bad = tmp_path / "bad.csv"
    bad.write_text("signal_type,value\npdq,xyz\nmd5,123\n")
    assert bastion_cli(settings, "bank", "create", "b").returncode == 0
    result = bastion_cli(settings, "bank", "import", "b", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "line 2:" in result.stderr and "line 3:" in result.stderr
    unreadable = bastion_cli(settings, "hash", str(tmp_path / "does-not-exist.jpg"))
    assert lines(unreadable)[0]["error"]["message"].startswith("Cannot read")


def test_cli_writes_are_seen_by_a_running_server(
    settings: Settings, client: TestClient, admin: dict[str, str], tmp_path: Path
) -> None:
    data = image_bytes(71)
    query = client.post("/v1/match", files={"file": ("q.jpg", data)}, headers=admin)
    assert query.json()["matches"] == []  # the server has loaded its (empty) index
    known = tmp_path / "known.jpg"
    known.write_bytes(data)
    assert bastion_cli(settings, "bank", "create", "tvec").returncode == 0
    assert bastion_cli(settings, "bank", "add", "tvec", str(known)).returncode == 0
    query = client.post("/v1/match", files={"file": ("q.jpg", cropped_bytes(71))}, headers=admin)
    assert len(query.json()["matches"]) == 1
    entry_id = query.json()["matches"][0]["entry_id"]
    assert bastion_cli(settings, "bank", "remove", "tvec", str(entry_id)).returncode == 0
    query = client.post("/v1/match", files={"file": ("q.jpg", cropped_bytes(71))}, headers=admin)
    assert query.json()["matches"] == []


def test_token_create_and_db_upgrade(settings: Settings) -> None:
    created = bastion_cli(settings, "token", "create", "--role", "platform", "--name", "acme")
    token = lines(created)[0]
    assert token["token"].startswith("bst_")
    listed = lines(bastion_cli(settings, "token", "list"))
    assert listed[0]["name"] == "acme" and "token" not in listed[0]
    wrong = bastion_cli(settings, "token", "create", "--role", "root")
    assert wrong.returncode == 2 and "Unknown role" in wrong.stderr
    newest = sorted((MIGRATIONS / "versions").glob("0*.py"))[-1].name[:4]
    assert lines(bastion_cli(settings, "db", "upgrade"))[0]["revision"] == newest


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["nosuch"], "No such command"),
        (["eval", "--bogus"], "No such option"),
        (["vault", "open", "1"], "Missing option '--purpose'"),
        (["bank", "create"], "Missing argument"),
    ],
)
def test_usage_errors_are_one_message_not_a_traceback(
    tmp_path: Path, args: list[str], says: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bastion", "--data-dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and says in done.stderr
    assert "Traceback" not in done.stderr
