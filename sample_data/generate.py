"""Generate triggerlab's sample data: profiles, events, a trigger batch and delivery history.

Synthetic and seeded: ``python sample_data/generate.py [OUT_DIR]`` writes the same bytes on every run
(``tests/test_sample_data.py`` checks the committed files against a fresh run). The data is shaped to exercise
the decision rules of ``spec/semantics.md`` with the three campaigns in ``sample_data/campaigns/``: night-time
pushes meet the fitness campaign's quiet hours (a few on the New York DST change expire), heavy push users in
the history fill the workspace frequency caps, the fitness campaign's targeting cap is reached, control groups
see fewer goal events than recipients (so uplift shows), payloads leave optional keys out (defaults and
``missing_keys``), and a few lines are deliberately broken.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

SEED = 20261101
N_PROFILES = 5_000
WORKSPACE_ZONE = "Asia/Kolkata"  # sample_data/triggerlab.yaml
EVENTS_FROM = datetime(2026, 8, 1, tzinfo=UTC)
EVENTS_TO = datetime(2026, 11, 17, tzinfo=UTC)
# The batch starts a few hours before the campaigns' schedules open (campaign_inactive rows).
TRIGGERS_FROM = datetime(2026, 10, 31, 12, tzinfo=UTC)
TRIGGERS_DAYS = 14
HISTORY_FROM = datetime(2026, 10, 1, tzinfo=UTC)

ORDER, FITNESS, UPGRADE = "1695721550", "1750575722", "1750575723"
# Other campaigns of the workspace, seen only in the delivery history.
STREAK_PUSH, NEWSLETTER, WHATSAPP_PROMO = "1600000001", "1600000002", "1600000003"
CONTROL_GROUP = {ORDER: 10, FITNESS: 20}  # from the campaign files: only these have goals

# zone -> (cities, weight); the workspace zone dominates as in an Indian retailer's user base
ZONES: dict[str, tuple[tuple[str, ...], int]] = {
    "Asia/Kolkata": (("Mumbai", "Bengaluru", "Delhi", "Pune", "Chennai", "Hyderabad"), 50),
    "America/New_York": (("New York", "Boston", "Atlanta"), 10),
    "America/Los_Angeles": (("Los Angeles", "San Francisco", "Seattle"), 7),
    "Europe/London": (("London", "Manchester"), 8),
    "Europe/Berlin": (("Berlin", "Munich"), 6),
    "Asia/Dubai": (("Dubai", "Abu Dhabi"), 6),
    "Asia/Singapore": (("Singapore",), 5),
    "Australia/Sydney": (("Sydney", "Melbourne"), 4),
    "America/Sao_Paulo": (("São Paulo", "Rio de Janeiro"), 4),
}
# Names zoneinfo does not know: they fall back to the workspace zone and are reported as warnings.
INVALID_ZONES = ("Asia/Mumbai", "America/NewYork")

# word lists read better as text than as lists of quoted words
FIRST = (  # noqa: SIM905
    "Aarav Aditi Ananya Arjun Diya Ishaan Kavya Meera Neha Priya Rahul Riya Rohan Sanjay Sneha Vikram "
    "Emma Liam Olivia Noah Sophia Lucas Mia Ethan Hannah Felix Lena Omar Layla Wei Mei Chloe Jack Ana "
    "Pedro"
).split()
LAST = (  # noqa: SIM905
    "Sharma Patel Iyer Reddy Nair Gupta Singh Mehta Rao Kapoor Smith Johnson Brown Garcia Miller Davis "
    "Müller Schmidt Weber Khan Haddad Tan Lim Wong Taylor Wilson Silva Santos Costa"
).split()
CATEGORIES = ("Shoes", "Electronics", "Apparel", "Books", "Home", "Beauty")
PRODUCTS = {
    "Shoes": ("Trail Runner 2", "City Sneaker", "Court Classic"),
    "Electronics": ("Noise-cancelling Headphones", "Smart Band 5", "USB-C Charger"),
    "Apparel": ("Linen Shirt", "Rain Jacket", "Yoga Pants"),
    "Books": ("The Long Walk", "Cooking with Millets", "Data Pipelines"),
    "Home": ("Cast Iron Pan", "Bamboo Sheets", "Desk Lamp"),
    "Beauty": ("Sunscreen SPF 50", "Face Serum", "Lip Balm Trio"),
}
MILESTONES = (("10000", "10,000 steps"), ("15000", "15,000 steps"), ("21097", "a half marathon"))


@dataclass(frozen=True)
class Profile:
    identity: str
    email: str | None
    object_id: str
    name: str | None
    customer_type: str | None
    city: str | None
    plan: str | None
    timezone: str | None
    activity: float  # how often this user does things (events, triggers)

    @property
    def zone(self) -> ZoneInfo:
        valid = self.timezone in ZONES
        return ZoneInfo(self.timezone if valid and self.timezone is not None else WORKSPACE_ZONE)


def bucket(salt: str, identity: str) -> int:
    """The control-group bucket of DESIGN.md, so goal events follow the campaign's real control split."""
    return int.from_bytes(hashlib.md5(f"{salt}|{identity}".encode()).digest()[8:], "little") % 100


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def at_local(day: date, hour: float, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time (hour as a fraction) on a local day."""
    wall = datetime(day.year, day.month, day.day) + timedelta(seconds=int(hour * 3600))
    return wall.replace(tzinfo=zone).astimezone(UTC)


# ---------------------------------------------------------------------------------------------- profiles


def make_profiles(rng: random.Random) -> list[Profile]:
    zones = list(ZONES)
    weights = [ZONES[zone][1] for zone in zones]
    profiles: list[Profile] = []
    for n in range(1, N_PROFILES + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        zone = rng.choices(zones, weights)[0]
        plan = rng.choices(("free", "pro", "team", "churned"), (55, 25, 8, 12))[0]
        profiles.append(
            Profile(
                identity=f"u{n:05d}",
                email=f"{first.lower()}.{last.lower().replace('ü', 'ue')}{n}@mail.example",
                object_id=f"__{rng.getrandbits(128):032x}",
                name=f"{first} {last}",
                customer_type=rng.choices(("Gold", "Silver", "Bronze"), (25, 35, 40))[0],
                city=rng.choice(ZONES[zone][0]),
                plan=plan,
                timezone=zone,
                activity=min(rng.paretovariate(1.8), 20.0),
            )
        )
    # Unset cells (an empty CSV cell is "not set"): names for the default filters, emails for `| json`.
    for index in rng.sample(range(N_PROFILES), 120):
        field = rng.choice(("name", "email", "customer_type", "city", "plan", "timezone"))
        profiles[index] = _replace(profiles[index], **{field: None})
    for index, zone in zip(rng.sample(range(N_PROFILES), len(INVALID_ZONES)), INVALID_ZONES, strict=True):
        profiles[index] = _replace(profiles[index], timezone=zone)
    # Family accounts: one email on two profiles, so a trigger by email reaches both.
    for left, right in zip(*[iter(rng.sample(range(N_PROFILES), 10))] * 2, strict=True):
        profiles[right] = _replace(profiles[right], email=profiles[left].email)
    return profiles


def _replace(profile: Profile, **changes: Any) -> Profile:
    return Profile(**{**profile.__dict__, **changes})


def profiles_frame(profiles: list[Profile]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "identity": [p.identity for p in profiles],
            "email": [p.email for p in profiles],
            "objectId": [p.object_id for p in profiles],
            "name": [p.name for p in profiles],
            "timezone": [p.timezone for p in profiles],
            "Customer Type": [p.customer_type for p in profiles],
            "city": [p.city for p in profiles],
            "plan": [p.plan for p in profiles],
        },
        schema=dict.fromkeys(
            ("identity", "email", "objectId", "name", "timezone", "Customer Type", "city", "plan"), pl.Utf8
        ),
    )


# ---------------------------------------------------------------------------------------------- triggers


@dataclass
class Line:
    received_at: datetime | None
    body: Any  # a request object, or raw text for a line that is not JSON
    recipients: list[tuple[str, Profile]]  # (campaign id, profile) pairs a valid line reaches


def order_payload(rng: random.Random) -> tuple[dict[str, Any], float]:
    products, total = [], 0.0
    for _ in range(rng.choices((1, 2, 3), (60, 30, 10))[0]):
        category = rng.choice(CATEGORIES)
        price = round(rng.uniform(4, 180), 2)
        discount = round(price * rng.choice((0, 0, 0.1, 0.2)), 2)
        total += price - discount
        product: dict[str, Any] = {
            "productName": rng.choice(PRODUCTS[category]),
            "productID": f"SKU-{rng.randrange(10_000, 99_999)}",
            "imageURL": f"https://cdn.shoplane.example/p/{rng.randrange(1000, 9999)}.jpg",
            "pricingDetails": [{"name": "Price", "value": f"{price:.2f}"}],
        }
        if discount:
            product["pricingDetails"].append({"name": "Discount", "value": f"-{discount:.2f}"})
        if rng.random() < 0.03:  # the template's default: "defaultProductName"
            del product["productName"]
        products.append(product)
    return {"productDetails": products}, round(total, 2)


def fitness_payload(rng: random.Random, day: date) -> dict[str, Any]:
    steps, milestone = rng.choice(MILESTONES)
    payload = {
        "steps": steps,
        "milestone": milestone,
        "date": day.isoformat(),
        "badge": rng.choice(("gold", "silver")),
    }
    for key, chance in (("badge", 0.15), ("steps", 0.05), ("milestone", 0.02)):
        if rng.random() < chance:  # badge and steps have defaults; a missing milestone renders blank
            del payload[key]
    return payload


def upgrade_payload(rng: random.Random, profile: Profile) -> dict[str, Any]:
    new = rng.choice(("pro", "team"))
    payload = {
        "newPlan": new,
        "oldPlan": profile.plan or "free",
        "amount": {"pro": "9.99", "team": "29.00"}[new],
    }
    if rng.random() < 0.2:  # the template's default: "free"
        del payload["oldPlan"]
    return payload


def to_of(rng: random.Random, profile: Profile) -> dict[str, list[str]]:
    roll = rng.random()
    if roll < 0.2 and profile.email:
        return {"email": [profile.email]}
    if roll < 0.25:
        return {"objectId": [profile.object_id]}
    return {"identity": [profile.identity]}


def local_time(rng: random.Random, campaign: str, profile: Profile, day: date) -> datetime:
    """When a trigger fires, by the user's local clock: orders by day, step milestones mostly evenings."""
    if campaign == FITNESS:
        hour = rng.choices((rng.uniform(6, 18), rng.uniform(18, 24), rng.uniform(0, 6)), (35, 55, 10))[0]
    else:
        hour = rng.choices((rng.uniform(8, 22), rng.uniform(22, 24), rng.uniform(0, 8)), (85, 8, 7))[0]
    return at_local(day, hour, profile.zone)


def make_triggers(
    rng: random.Random, profiles: list[Profile], orders: list[tuple[datetime, Profile, float]]
) -> list[Line]:
    # Step milestones come from many users (the fitness campaign's targeting cap of 2,000 is reached).
    by_activity = [p.activity**0.5 for p in profiles]
    # Gold customers order more; the order campaign's audience is Gold only, so most orders reach it.
    by_orders = [p.activity**0.5 * (3 if p.customer_type == "Gold" else 1) for p in profiles]
    weights = {ORDER: by_orders, FITNESS: by_activity, UPGRADE: None}
    end = TRIGGERS_FROM + timedelta(days=TRIGGERS_DAYS)
    days = [(TRIGGERS_FROM + timedelta(days=d)).date() for d in range(TRIGGERS_DAYS + 1)]
    lines: list[Line] = []

    def request(campaign: str, profile: Profile, received: datetime) -> dict[str, Any]:
        if campaign == ORDER:
            payload, amount = order_payload(rng)
            orders.append((received, profile, amount))
        elif campaign == FITNESS:
            payload = fitness_payload(rng, received.date())
        else:
            payload = upgrade_payload(rng, profile)
        return {"to": to_of(rng, profile), "campaign_id": campaign, "ExternalTrigger": payload}

    def pick(campaign: str) -> tuple[Profile, datetime]:
        while True:
            profile = rng.choices(profiles, weights[campaign])[0]
            received = local_time(rng, campaign, profile, rng.choice(days))
            if TRIGGERS_FROM <= received < end:
                return profile, received

    for campaign in [ORDER] * 8_000 + [FITNESS] * 7_500 + [UPGRADE] * 3_900:
        profile, received = pick(campaign)
        body = request(campaign, profile, received)
        if rng.random() < 0.06:  # the v2 form of the same request
            body["campaign_id_list"] = [body.pop("campaign_id")]
        lines.append(Line(received, body, [(campaign, profile)]))
    for _ in range(60):  # team step challenges: one request, several users
        profile, received = pick(FITNESS)
        team = [profile, *rng.sample(profiles, rng.randint(1, 3))]
        body = request(FITNESS, profile, received)
        body["to"] = {"identity": [p.identity for p in team]}
        lines.append(Line(received, body, [(FITNESS, p) for p in team]))
    for _ in range(50):  # one v2 request for two campaigns
        profile, received = pick(FITNESS)
        body = request(FITNESS, profile, received)
        body["campaign_id_list"] = [UPGRADE, body.pop("campaign_id")]
        body["ExternalTrigger"].update(upgrade_payload(rng, profile))
        lines.append(Line(received, body, [(UPGRADE, profile), (FITNESS, profile)]))
    for _ in range(200):  # {"d": [...]}: a server batching its calls, one received_at for all
        profile, received = pick(ORDER)
        parts = [profile, *rng.choices(profiles, by_orders, k=rng.randint(1, 3))]
        lines.append(
            Line(received, {"d": [request(ORDER, p, received) for p in parts]}, [(ORDER, p) for p in parts])
        )

    # New York's clocks go back on 2026-11-01: a milestone at 21:00 on Oct 31 waits 13 h for the end of
    # quiet hours (09:00), longer than the campaign's max_delay of 12 h, so it expires.
    new_yorkers = sorted((p for p in profiles if p.timezone == "America/New_York"), key=lambda p: -p.activity)
    for profile in new_yorkers[:10]:
        received = at_local(date(2026, 10, 31), 21 + rng.random(), profile.zone)
        lines.append(Line(received, request(FITNESS, profile, received), [(FITNESS, profile)]))

    lines.extend(broken_lines(rng, profiles))
    lines.sort(key=lambda line: line.received_at or TRIGGERS_FROM)
    return lines


def broken_lines(rng: random.Random, profiles: list[Profile]) -> Iterator[Line]:
    """Requests every rule-1..4 path needs: invalid bodies, unknown campaigns, unknown users."""

    def when() -> datetime:
        return TRIGGERS_FROM + timedelta(seconds=rng.randrange(TRIGGERS_DAYS * 86_400))

    def someone() -> str:
        return rng.choice(profiles).identity

    payload = {"steps": "10000", "milestone": "10,000 steps", "date": "2026-11-05"}
    for n in range(6):  # not JSON objects at all
        text = ('{"id": "t-broken", "received_at": "2026-11-03T10:00:00Z", "body": {"to": ', "ok", "[1, 2]")[
            n % 3
        ]
        yield Line(when(), text, [])
    for _ in range(12):  # a number leaf: CleverTap accepts strings only
        yield Line(when(), {"to": {"identity": [someone()]}, "campaign_id": FITNESS,
                            "ExternalTrigger": {**payload, "steps": 10000}}, [])  # fmt: skip
    for to in (
        {"identity": []},
        {},
        {"identity": [someone()], "phone": ["+15550100"]},
        {"identity": someone()},
    ):
        for _ in range(3):  # empty `to`, an unknown kind, a bare string instead of a list
            yield Line(
                when(), {"to": to, "campaign_id": ORDER, "ExternalTrigger": {"productDetails": []}}, []
            )
    for _ in range(3):  # ExternalTrigger must be an object
        yield Line(
            when(), {"to": {"identity": [someone()]}, "campaign_id": FITNESS, "ExternalTrigger": "10000"}, []
        )
    for _ in range(10):  # a campaign that is not published
        yield Line(
            when(), {"to": {"identity": [someone()]}, "campaign_id": "1700000099", "ExternalTrigger": {}}, []
        )
    for n in range(150):  # users the profile table does not know
        to = (
            {"identity": [f"u{rng.randrange(90_000, 99_999)}"]}
            if n % 3
            else {"email": [f"guest{n}@mail.example"]}
        )
        yield Line(
            when(), {"to": to, "campaign_id": (ORDER, FITNESS, UPGRADE)[n % 3], "ExternalTrigger": {}}, []
        )
    for _ in range(2):  # no received_at in the envelope (invalid unless the caller passes --at)
        yield Line(None, {"to": {"identity": [someone()]}, "campaign_id": UPGRADE, "ExternalTrigger": {}}, [])


def triggers_text(lines: list[Line]) -> str:
    out = []
    for number, line in enumerate(lines, start=1):
        if isinstance(line.body, str):
            out.append(line.body)
            continue
        envelope: dict[str, Any] = {"id": f"t{number:06d}"}
        if line.received_at is not None:
            envelope["received_at"] = iso(line.received_at)
        envelope["body"] = line.body
        out.append(json.dumps(envelope, ensure_ascii=False, separators=(",", ":")))
        if number == len(lines) // 2:
            out.append("")  # a blank line: skipped and not counted
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------------ events


def make_events(
    rng: random.Random,
    profiles: list[Profile],
    lines: list[Line],
    orders: list[tuple[datetime, Profile, float]],
) -> pl.DataFrame:
    rows: list[tuple[str, str, datetime, float | None, str | None, int | None]] = []
    span = int((EVENTS_TO - EVENTS_FROM).total_seconds())

    def organic(event: str, count: int, skew: float = 1.0) -> None:
        for profile in rng.choices(profiles, [p.activity**skew for p in profiles], k=count):
            ts = EVENTS_FROM + timedelta(seconds=rng.randrange(span))
            add(event, profile, ts)

    def add(event: str, profile: Profile, ts: datetime, amount: float | None = None) -> None:
        category = rng.choice(CATEGORIES) if event in ("Product Viewed", "Charged") else None
        if event == "Charged" and amount is None:
            amount = round(rng.uniform(5, 250), 2)
        steps = rng.randrange(2_000, 25_000) if event == "Steps Logged" else None
        rows.append((profile.identity, event, ts, amount, category, steps))

    # App launches are spread wider than purchases: most users open the app a few times a month.
    organic("App Launched", 60_000, skew=0.5)
    organic("Product Viewed", 15_000)
    organic("Charged", 8_000)
    organic("Steps Logged", 9_000)
    for received, profile, amount in orders:  # the purchase each order confirmation confirms
        add("Charged", profile, received - timedelta(seconds=rng.randrange(5, 120)), amount)
    # The campaign effect: recipients outside the control group convert more often within the goal window.
    effect = {ORDER: (0.07, timedelta(hours=24)), FITNESS: (0.12, timedelta(days=2))}
    goal = {ORDER: "Charged", FITNESS: "Steps Logged"}
    for line in lines:
        for campaign, profile in line.recipients:
            if campaign not in effect or line.received_at is None:
                continue
            chance, within = effect[campaign]
            if bucket(campaign, profile.identity) >= CONTROL_GROUP[campaign] and rng.random() < chance:
                ts = line.received_at + timedelta(
                    seconds=rng.randrange(600, int(within.total_seconds() * 0.9))
                )
                add(goal[campaign], profile, ts)
    rows.sort(key=lambda row: (row[2], row[0], row[1]))
    return pl.DataFrame(
        rows,
        schema={
            "identity": pl.Utf8,
            "event": pl.Utf8,
            "ts": pl.Datetime("us", "UTC"),
            "Amount": pl.Float64,
            "Category": pl.Utf8,
            "steps": pl.Int64,
        },
        orient="row",
    )


# ----------------------------------------------------------------------------------------------- history


def make_history(rng: random.Random, profiles: list[Profile]) -> pl.DataFrame:
    rows: list[tuple[str, str, str, str]] = []
    end = TRIGGERS_FROM + timedelta(days=TRIGGERS_DAYS)
    span = int((end - HISTORY_FROM).total_seconds())

    def add(profile: Profile, channel: str, campaign: str, sent_at: datetime) -> None:
        rows.append((profile.identity, channel, campaign, iso(sent_at)))

    weights = [p.activity for p in profiles]
    for profile in rng.choices(profiles, weights, k=6_000):
        ts = HISTORY_FROM + timedelta(seconds=rng.randrange(span))
        channel, campaign = rng.choices(
            (("email", NEWSLETTER), ("whatsapp", WHATSAPP_PROMO), ("push", STREAK_PUSH)), (50, 15, 35)
        )[0]
        add(profile, channel, campaign, ts)
    # Heavy push users: three streak pushes a local day fill the calendar push cap (3/day) and the rolling
    # all-channel cap (10/week), so their fitness milestones are frequency_capped.
    for profile in rng.sample(profiles, 150):
        for day in range(-7, TRIGGERS_DAYS):
            local_day = (TRIGGERS_FROM + timedelta(days=day)).date()
            for hour in sorted(rng.sample(range(7, 12), rng.choice((2, 3)))):
                add(profile, "push", STREAK_PUSH, at_local(local_day, hour + rng.random(), profile.zone))
    # Earlier deliveries of the sample campaigns: these users are already allotted (targeting cap), and a
    # recent fitness push makes the next one wait for min_gap (1d).
    for profile in rng.sample(profiles, 500):
        days = rng.uniform(0.2, 30)
        add(
            profile,
            "push",
            FITNESS,
            TRIGGERS_FROM - timedelta(days=days) + timedelta(days=rng.choice((0, 1))),
        )
    for profile in rng.sample(profiles, 300):
        add(profile, "email", ORDER, HISTORY_FROM + timedelta(seconds=rng.randrange(span // 2)))
    rows.sort(key=lambda row: (row[3], row[0], row[2]))
    return pl.DataFrame(
        rows, schema=dict.fromkeys(("identity", "channel", "campaign_id", "sent_at"), pl.Utf8), orient="row"
    )


# ------------------------------------------------------------------------------------------------- main


def generate(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    # One generator per table, so a change to one table leaves the others' bytes alone.
    profiles = make_profiles(random.Random(f"{SEED}-profiles"))
    orders: list[tuple[datetime, Profile, float]] = []
    lines = make_triggers(random.Random(f"{SEED}-triggers"), profiles, orders)
    events = make_events(random.Random(f"{SEED}-events"), profiles, lines, orders)
    history = make_history(random.Random(f"{SEED}-history"), profiles)

    profiles_frame(profiles).write_csv(out_dir / "profiles.csv")
    events.write_parquet(
        out_dir / "events.parquet", compression="zstd", compression_level=19, statistics=False
    )
    (out_dir / "triggers.jsonl").write_text(triggers_text(lines), encoding="utf-8")
    history.write_csv(out_dir / "history.csv")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
