"""Reports in the console: the transparency report (TCO Art. 7, DSA Art. 15) for a period, as a
page and as a PDF download; for admins and auditors."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from bastion.api.deps import SessionDep
from bastion.auth.permissions import Action
from bastion.compliance.report_render import html_context, render_pdf
from bastion.compliance.transparency import build_report, default_period, parse_period
from bastion.console.deps import LoginDep
from bastion.console.pages import page, render
from bastion.db.base import utcnow

router = APIRouter(prefix="/console")
Day = Annotated[str | None, Query(alias="from", max_length=10)]
ToDay = Annotated[str | None, Query(alias="to", max_length=10)]


def _period(start: str | None, end: str | None) -> tuple[str, str]:
    """The asked period, or the last 12 months when none is given."""
    if start is None and end is None:
        return default_period()
    return start or "", end or ""


def _shortcuts(today: date) -> list[tuple[str, str, str]]:
    year = today.year
    return [
        ("Last 12 months", *default_period(today)),
        (f"Year {year - 1}", f"{year - 1}-01-01", f"{year - 1}-12-31"),
        (f"{year} so far", f"{year}-01-01", today.isoformat()),
        ("Last 30 days", (today - timedelta(days=29)).isoformat(), today.isoformat()),
    ]


@page(router, "GET", "/reports/transparency", Action.AUDIT_READ)
def transparency_page(
    request: Request, session: SessionDep, login: LoginDep, start: Day = None, end: ToDay = None
) -> Response:
    """The transparency report for a period (default: the last 12 months)."""
    first, last = _period(start, end)
    report = build_report(session, *parse_period(first, last))
    query = urlencode({"from": report["period"]["from"], "to": report["period"]["to"]})
    return render(
        request,
        "transparency.html",
        login,
        **html_context(report),
        periods=_shortcuts(utcnow().date()),
        pdf_url=f"/console/reports/transparency.pdf?{query}",
    )


@page(router, "GET", "/reports/transparency.pdf", Action.AUDIT_READ)
def transparency_pdf(
    session: SessionDep, login: LoginDep, start: Day = None, end: ToDay = None
) -> Response:
    """The same report as a PDF file."""
    first, last = _period(start, end)
    report = build_report(session, *parse_period(first, last))
    name = f"transparency-{report['period']['from']}-{report['period']['to']}.pdf"
    return Response(
        render_pdf(report),
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
