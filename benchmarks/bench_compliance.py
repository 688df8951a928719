"""The compliance paths under load, on SQLite on this machine: receiving a removal order (its
items found and disabled in the request), a clock pass, sealing removals into the vault, and
building the transparency report. No open tool has an order desk to compare with, so these
are absolute figures against the legal budget (one hour per order).

    .venv/bin/python benchmarks/bench_compliance.py --items 10000 --orders 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from bastion.app import create_app
from bastion.auth.tokens import create_token
from bastion.compliance.order_clock import check_clocks
from bastion.compliance.transparency import build_report
from bastion.compliance.vault import new_key, preserve_due, vault_from
from bastion.runtime import Bastion
from bastion.settings import Settings

URL = "https://videos.example.net/watch?v={}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000, help="URL items stored first")
    parser.add_argument("--orders", type=int, default=200, help="orders of 10 URLs each")
    args = parser.parse_args()
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp()),
        vault_key=new_key(),
        order_clock_seconds=300,
        vault_interval_s=3600,
        text_classifier=False,
    )
    bastion = Bastion(settings).start()
    with bastion.session() as session:
        _, authority = create_token(session, name="authority", role="authority")
        _, platform = create_token(session, name="platform", role="platform", platform="acme")
    as_authority = {"Authorization": f"Bearer {authority}"}
    as_platform = {"Authorization": f"Bearer {platform}"}
    with TestClient(create_app(bastion)) as client:
        for i in range(args.items):
            body = {"external_id": f"p{i}", "url": URL.format(i)}
            client.post("/v1/items", json=body, headers=as_platform)
        timings = []
        for n in range(args.orders):
            order = {
                "reference": f"FR-{n}",
                "authority": "Test authority",
                "member_state": "FR",
                "issued_at": "2026-11-26T09:00:00Z",
                "categories": ["a"],
                "reasons": "Glorification (invented group).",
                "redress": "Administrative court.",
                "urls": [URL.format((n * 10 + k) % args.items) for k in range(10)],
            }
            started = time.perf_counter()
            response = client.post("/v1/orders", json=order, headers=as_authority)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 201, response.text
    timings.sort()
    p95 = timings[max(0, int(0.95 * len(timings)) - 1)]
    print(
        f"| receive an order (10 URLs among {args.items:,} items, disabled in the request) | "
        f"median {statistics.median(timings) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms |"
    )
    with bastion.session() as session:
        started = time.perf_counter()
        pages = check_clocks(session, marks=(30, 15))
        print(
            f"| clock pass over {args.orders} open orders ({pages} pages) | "
            f"{(time.perf_counter() - started) * 1000:.0f} ms |"
        )
    vault = vault_from(settings)
    assert vault is not None
    started, sealed = time.perf_counter(), 0
    while True:
        with bastion.session() as session:
            batch = preserve_due(session, vault, bastion.media)
        if not batch:
            break
        sealed += len(batch)
    elapsed = time.perf_counter() - started
    print(
        f"| seal {sealed:,} removals into the vault | {elapsed:.2f} s ({sealed / elapsed:,.0f}/s) |"
    )
    with bastion.session() as session:
        started = time.perf_counter()
        build_report(session, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
        print(
            f"| transparency report over {sealed:,} removals | "
            f"{(time.perf_counter() - started) * 1000:.0f} ms |"
        )


if __name__ == "__main__":
    main()
