"""The README documents what the code has: every setting, every CLI command, every route."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from bastion.app import create_app
from bastion.cli import app as cli_app
from bastion.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"BASTION_{name.upper()}" in README, name


def test_every_cli_command_is_documented() -> None:
    root = get_command(cli_app)
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        for sub in subcommands or [None]:
            spelled = f"bastion {name}" + (f" {sub}" if sub else "")
            assert spelled in README, spelled


def test_every_route_is_documented() -> None:
    paths = create_app(Settings()).openapi()["paths"]
    for path in paths:
        assert path.replace("{entry_id}", "{id}").replace("{item_id}", "{id}") in README or any(
            path in line for line in README.splitlines()
        ), path


def test_openapi_has_no_dangling_references() -> None:
    import json

    document = json.dumps(create_app(Settings()).openapi())
    assert "#/$defs/" not in document
