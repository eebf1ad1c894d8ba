"""Real-data replay: the UCI Online Retail transactions as a triggerlab workspace.

From the 541,909 real transactions of a UK online shop (2010-12-01 to 2011-12-09, see
``/work/shared/external/uci_online_retail/README.md``) this builds:

- profiles: one per CustomerID (``identity`` is the id as text), the customer's main country and its time zone,
  order count, spend, a ``Customer Type`` by spend;
- events: ``Charged`` per invoice (``Amount`` = sum of quantity x unit price) and ``Product Viewed`` per
  invoice line, a minute apart before the purchase;
- a trigger batch (JSON Lines envelopes): one v2 request per invoice, a minute after the purchase, for an order-confirmation email and
  a follow-up push, with ``productDetails`` from the invoice lines (the biggest invoices exceed 64 KB);
- history: a monthly newsletter to every customer, a weekly push to a third of them, and earlier deliveries
  of the order confirmation to one customer in fifty (already allotted).

Cancellations (``C`` invoices) and lines without a customer are left out. The invoice times are UK wall-clock
times (Europe/London). ``python benchmarks/uci_replay.py`` simulates the whole batch and prints rows/s;
``tests/test_uci_replay.py`` checks the engine's invariants on it.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from triggerlab.campaign import Campaign
from triggerlab.duck import connect
from triggerlab.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "external" / "uci_online_retail" / "online_retail.parquet"
ORDER_EMAIL, FOLLOW_UP_PUSH = "9000000001", "9000000002"
NEWSLETTER, WEEKLY_PUSH = "9000000100", "9000000101"

# Country as written in the data -> IANA zone; None for the two values that name no country (the profile gets
# no zone and falls back to the workspace zone).
ZONES: dict[str, str | None] = {
    "Australia": "Australia/Sydney",
    "Austria": "Europe/Vienna",
    "Bahrain": "Asia/Bahrain",
    "Belgium": "Europe/Brussels",
    "Brazil": "America/Sao_Paulo",
    "Canada": "America/Toronto",
    "Channel Islands": "Europe/Jersey",
    "Cyprus": "Asia/Nicosia",
    "Czech Republic": "Europe/Prague",
    "Denmark": "Europe/Copenhagen",
    "EIRE": "Europe/Dublin",
    "European Community": None,
    "Finland": "Europe/Helsinki",
    "France": "Europe/Paris",
    "Germany": "Europe/Berlin",
    "Greece": "Europe/Athens",
    "Hong Kong": "Asia/Hong_Kong",
    "Iceland": "Atlantic/Reykjavik",
    "Israel": "Asia/Jerusalem",
    "Italy": "Europe/Rome",
    "Japan": "Asia/Tokyo",
    "Lebanon": "Asia/Beirut",
    "Lithuania": "Europe/Vilnius",
    "Malta": "Europe/Malta",
    "Netherlands": "Europe/Amsterdam",
    "Norway": "Europe/Oslo",
    "Poland": "Europe/Warsaw",
    "Portugal": "Europe/Lisbon",
    "RSA": "Africa/Johannesburg",
    "Saudi Arabia": "Asia/Riyadh",
    "Singapore": "Asia/Singapore",
    "Spain": "Europe/Madrid",
    "Sweden": "Europe/Stockholm",
    "Switzerland": "Europe/Zurich",
    "USA": "America/New_York",
    "United Arab Emirates": "Asia/Dubai",
    "United Kingdom": "Europe/London",
    "Unspecified": None,
}

SETTINGS: dict[str, Any] = {
    "timezone": "Europe/London",
    "system_control_group": 5,
    "frequency_caps": [
        {"channel": "email", "limit": 1, "per": "day", "window": "calendar"},
        {"channel": "push", "limit": 2, "per": "week", "window": "calendar"},
        {"limit": 4, "per": "7d"},
    ],
}
SCHEDULE = {"start": "2010-12-01T00:00:00+00:00", "end": "2011-12-01T00:00:00+00:00"}


@dataclass(frozen=True)
class Replay:
    """Paths of the tables built for one replay, and the counts the invariants are checked against."""

    profiles: Path
    events: Path
    triggers: Path
    history: Path
    invoices: int
    customers: int


def settings() -> Settings:
    return Settings.model_validate(SETTINGS)


def campaigns(*, looped_template: bool = True) -> list[Campaign]:
    """The order confirmation of the sample data, plus a follow-up push.

    ``looped_template=False`` swaps the email's message for one that cannot fail on data (no loop, a literal
    subject), so the simulator may skip rendering it: the invariant tests are about the decision rules, and
    rendering the sample's looped template over every invoice line costs most of a run (the benchmark keeps it).
    """
    order = yaml.safe_load(
        (ROOT / "sample_data" / "campaigns" / "order_confirmation.yaml").read_text("utf-8")
    )
    order.update(
        id=ORDER_EMAIL,
        audience={"filters": [{"property": "country", "op": "not_in", "value": ["Unspecified"]}]},
        control_group=10,
        apply_system_control=False,
        targeting_cap=3000,
        schedule=SCHEDULE,
        delivery={
            "apply_global_limits": True,
            "dnd": {"start": "22:00", "end": "07:00", "action": "delay"},
            "max_delay": "8h",
        },
    )
    if not looped_template:
        order["message"] = {
            "from_email": "orders@retail.example",
            "subject": "Your order is confirmed",
            "html": "<p>Thanks, {{ Profile.name | default: 'there' }}: "
            "{{ ExternalTrigger.productDetails | size }} products are on their way.</p>",
        }
    follow_up = {
        "id": FOLLOW_UP_PUSH,
        "name": "How was your order?",
        "channel": "push",
        "goal": {"event": "Product Viewed", "within": "7d"},
        "audience": {"filters": [{"event": "Charged", "did": True, "at_least": 2, "within": "90d"}]},
        "control_group": 20,
        "targeting_cap": 1000,
        "message": {
            "title": "How was your order?",
            "body": "Tell us in a tap, {{ Profile.name | default: 'friend' }}.",
        },
        "schedule": SCHEDULE,
        "delivery": {"dnd": {"start": "20:00", "end": "09:00", "action": "discard"}, "min_gap": "7d"},
    }
    return [Campaign.model_validate(order), Campaign.model_validate(follow_up)]


def build(out_dir: Path, *, every: int = 1, source: Path = SOURCE) -> Replay:
    """Write the replay tables as Parquet under ``out_dir``; ``every`` keeps customers whose id it divides."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / f"{name}.parquet" for name in ("profiles", "events", "history")}
    paths["triggers"] = out_dir / "triggers.jsonl"
    con = connect()
    con.execute(
        f"""
        CREATE TABLE lines AS
        SELECT file_row_number AS n, InvoiceNo AS invoice, StockCode AS code, Description AS description,
               Quantity AS quantity, UnitPrice AS price, CAST(CustomerID AS VARCHAR) AS identity,
               Country AS country, timezone('Europe/London', InvoiceDate) AS ts
        FROM read_parquet(?, file_row_number = true)
        WHERE CustomerID IS NOT NULL AND NOT starts_with(InvoiceNo, 'C') AND CustomerID % {every} = 0
        """,
        [str(source)],
    )
    con.execute("CREATE TABLE zones (country VARCHAR, zone VARCHAR)")
    con.executemany("INSERT INTO zones VALUES (?, ?)", list(ZONES.items()))
    # Some invoices straddle a minute: the invoice's time is its first line's.
    con.execute(
        """
        CREATE TABLE invoices AS
        SELECT invoice, any_value(identity) AS identity, min(ts) AS ts,
               round(sum(quantity * price), 2) AS amount, min(n) AS first_line
        FROM lines GROUP BY invoice
        """
    )
    con.execute(
        """
        CREATE TABLE profiles AS
        WITH main_country AS (
            SELECT identity, arg_max(country, (count, country)) AS country FROM (
                SELECT identity, country, count(*) AS count FROM lines GROUP BY ALL
            ) GROUP BY identity
        ), spend AS (
            SELECT identity, count(*) AS orders, round(sum(amount), 2) AS spend, min(ts) AS first_order
            FROM invoices GROUP BY identity
        )
        SELECT identity, 'customer' || identity || '@retail.example' AS email, z.zone AS timezone, country,
               CASE WHEN percent_rank() OVER (ORDER BY spend) >= 0.8 THEN 'Gold'
                    WHEN percent_rank() OVER (ORDER BY spend) >= 0.5 THEN 'Silver' ELSE 'Bronze' END
                   AS "Customer Type",
               orders, spend, first_order
        FROM main_country JOIN spend USING (identity) JOIN zones AS z USING (country)
        ORDER BY CAST(identity AS INTEGER)
        """
    )
    con.execute(
        f"""
        COPY (
            SELECT identity, 'Charged' AS event, ts, amount AS "Amount", NULL::VARCHAR AS "StockCode"
            FROM invoices
            UNION ALL
            SELECT l.identity, 'Product Viewed', l.ts - to_minutes(CAST(l.n - i.first_line + 1 AS BIGINT)), NULL,
                   l.code
            FROM lines AS l JOIN invoices AS i USING (invoice)
            ORDER BY ts, identity, event
        ) TO '{paths["events"]}' (FORMAT parquet)
        """
    )
    con.execute(
        f"""
        COPY (
            SELECT i.invoice AS id, strftime(i.ts + INTERVAL 1 MINUTE, '%Y-%m-%dT%H:%M:%SZ') AS received_at,
                   to_json({{
                       'to': {{'identity': [i.identity]}},
                       'campaign_id_list': ['{ORDER_EMAIL}', '{FOLLOW_UP_PUSH}'],
                       'ExternalTrigger': {{'productDetails': list({{
                           'productName': l.description,
                           'productID': l.code,
                           'imageURL': 'https://cdn.retail.example/p/' || l.code || '.jpg',
                           'pricingDetails': [
                               {{'name': 'Quantity', 'value': CAST(l.quantity AS VARCHAR)}},
                               {{'name': 'Unit price', 'value': printf('%.2f', l.price)}}
                           ]
                       }} ORDER BY l.n)}}
                   }}) AS body
            FROM invoices AS i JOIN lines AS l USING (invoice)
            GROUP BY i.invoice, i.identity, i.ts
            ORDER BY i.ts, i.invoice
        ) TO '{paths["triggers"]}' (FORMAT json)
        """
    )
    con.execute(
        f"""
        COPY (
            SELECT identity, 'email' AS channel, '{NEWSLETTER}' AS campaign_id,
                   strftime(m, '%Y-%m-%dT10:00:00Z') AS sent_at
            FROM profiles, range(TIMESTAMP '2010-11-01', TIMESTAMP '2011-12-02', INTERVAL 1 MONTH) AS r(m)
            UNION ALL
            SELECT identity, 'push', '{WEEKLY_PUSH}', strftime(w, '%Y-%m-%dT17:00:00Z')
            FROM profiles, range(TIMESTAMP '2010-11-26', TIMESTAMP '2011-12-10', INTERVAL 7 DAY) AS r(w)
            WHERE CAST(identity AS INTEGER) % 3 = 0
            UNION ALL
            SELECT identity, 'email', '{ORDER_EMAIL}', '2010-11-15T12:00:00Z'
            FROM profiles WHERE CAST(identity AS INTEGER) % 50 = 0
            ORDER BY sent_at, identity, campaign_id
        ) TO '{paths["history"]}' (FORMAT parquet)
        """
    )
    con.execute(f"COPY profiles TO '{paths['profiles']}' (FORMAT parquet)")
    invoices, customers = con.execute("SELECT count(*), count(DISTINCT identity) FROM invoices").fetchall()[0]
    con.close()
    return Replay(**paths, invoices=invoices, customers=customers)


def main() -> int:
    """Simulate the whole replay twice: rules only (a message that cannot fail, rendering skipped), then with
    the sample's looped order-confirmation template rendered for every row that reaches rule 9."""
    from triggerlab.simulation import simulate

    if not SOURCE.exists():
        print(f"skipped: the UCI Online Retail parquet is missing at {SOURCE} (see README, Tests)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        replay = build(Path(tmp))
        print(
            f"built {replay.invoices} invoices / {replay.customers} customers in {time.perf_counter() - started:.1f} s"
        )
        for looped in (False, True):
            started = time.perf_counter()
            result = simulate(
                campaigns(looped_template=looped),
                triggers=replay.triggers,
                profiles=replay.profiles,
                events=replay.events,
                history=replay.history,
                settings=settings(),
                progress=False,
            )
            took = time.perf_counter() - started
            rows = result.outcomes.height
            label = "looped template rendered" if looped else "rules only"
            print(f"{label}: {rows} recipient rows in {took:.1f} s, {rows / took:,.0f} rows/s")
            print("  ", result.summary()["statuses"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
