"""`bastion report ...`: the transparency report (TCO Art. 7, DSA Art. 15) for a period, as
JSON, a standalone HTML file or a PDF."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bastion.errors import InvalidInput

report_app = typer.Typer(help="Reports: the yearly transparency report.", no_args_is_help=True)
FORMATS = ("json", "html", "pdf")


@report_app.command("transparency")
def report_transparency(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC), included.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC), included.")],
    output_format: Annotated[
        str, typer.Option("--format", help="json, html (printable file) or pdf.")
    ] = "json",
    output: Annotated[
        Path | None, typer.Option(help="Write to this file (needed for pdf); default stdout.")
    ] = None,
) -> None:
    """Removals by source, category and automation; orders; complaints; error and overturn
    rates by language and by source, with 95% intervals."""
    from bastion.cli import state
    from bastion.compliance.report_render import render_html, render_pdf
    from bastion.compliance.transparency import build_report, parse_period

    if output_format not in FORMATS:
        raise InvalidInput(f"--format is one of {', '.join(FORMATS)}; got {output_format!r}.")
    if output_format == "pdf" and output is None:
        raise InvalidInput("A PDF is binary: give --output FILE.")
    period = parse_period(start, end)
    with state.bastion().session() as session:
        report = build_report(session, *period)
    if output_format == "pdf":
        assert output is not None
        output.write_bytes(render_pdf(report))
        typer.echo(f"wrote {output}", err=True)
        return
    text = (
        render_html(report)
        if output_format == "html"
        else json.dumps(report, ensure_ascii=False, indent=2 if output else None)
    )
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
