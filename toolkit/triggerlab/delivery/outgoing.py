"""Decisions into outgoing messages: a trigger batch for CleverTap, a simulation for direct channels."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from triggerlab.campaign import Campaign
from triggerlab.delivery.clevertap import clevertap_calls
from triggerlab.delivery.message import OutgoingMessage, idempotency_key
from triggerlab.settings import Settings
from triggerlab.triggers import BatchLine, request_problem

__all__ = ["ADDRESS_COLUMNS", "Outgoing", "clevertap_outgoing", "direct_outgoing"]

#: the profile column holding each channel's address (``address_column`` overrides it)
ADDRESS_COLUMNS: dict[str, str] = {"email": "email", "whatsapp": "phone", "push": "fcm_token"}


@dataclass(slots=True)
class Outgoing:
    """Messages to deliver now, rows stopped by a rule (by status) and messages whose time is still ahead."""

    messages: list[OutgoingMessage] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    deferred: int = 0


def _forwardable(request: Any, ids: set[str]) -> Any:
    """The request restricted to the campaigns being sent, or None when none of its campaigns is one."""
    if not isinstance(request, dict):
        return None
    kept = [
        str(c) for c in [request.get("campaign_id"), *request.get("campaign_id_list", [])] if c is not None
    ]
    kept = [c for c in dict.fromkeys(kept) if c in ids]
    if not kept:
        return None
    rest = {k: v for k, v in request.items() if k not in ("campaign_id", "campaign_id_list")}
    return rest | ({"campaign_id_list": kept} if "campaign_id_list" in request else {"campaign_id": kept[0]})


def clevertap_outgoing(
    lines: Iterable[BatchLine], campaigns: Sequence[Campaign], settings: Settings
) -> Outgoing:
    """One message per CleverTap API call for every valid request naming one of ``campaigns``.

    Invalid requests (spec/semantics.md rule 1) are skipped as ``invalid_request``; requests for other
    campaigns as ``unknown_campaign``. CleverTap itself applies the campaign's rules after that.
    """
    ids = {c.id for c in campaigns if c.id}
    out = Outgoing()
    skipped: Counter[str] = Counter()
    for line in lines:
        if line.error is not None:
            skipped["invalid_request"] += 1
            continue
        body = line.body
        elements = body["d"] if isinstance(body, dict) and "d" in body else [body]
        if not isinstance(elements, list) or not elements:
            skipped["invalid_request"] += 1
            continue
        kept = []
        for element in elements:
            if request_problem(element, settings) is not None:
                skipped["invalid_request"] += 1
            elif (forward := _forwardable(element, ids)) is None:
                skipped["unknown_campaign"] += 1
            else:
                kept.append(forward)
        if kept:
            out.messages.extend(clevertap_calls(line.request_id, {"d": kept}))
    out.skipped = dict(skipped)
    return out


def _addresses(profiles: pl.DataFrame | None, column: str | None) -> dict[str, str]:
    if profiles is None or column is None or column not in profiles.columns:
        return {}
    rows = profiles.select(pl.col("identity"), pl.col(column).cast(pl.String)).drop_nulls().iter_rows()
    return {str(identity): str(address) for identity, address in rows}


def _extras(campaign: Campaign) -> dict[str, Any]:
    """Campaign settings a transport needs beyond the rendered fields (never a secret: env-var names)."""
    message = campaign.message
    if campaign.channel != "webhook":
        return {}
    extras: dict[str, Any] = {"content_type": getattr(message, "content_type", "json")}
    auth = getattr(message, "auth", None)
    if auth is not None:
        extras["auth"] = auth.model_dump()
    return extras


def direct_outgoing(
    outcomes: pl.DataFrame,
    messages: pl.DataFrame,
    campaigns: Sequence[Campaign],
    *,
    profiles: pl.DataFrame | None,
    now: datetime,
    address_column: str | None = None,
) -> Outgoing:
    """The ``sent`` rows of a simulation rendered with ``render="all"``, due at ``now`` or earlier.

    A row whose ``delivery_at`` is still ahead (a DND delay) is deferred: a later run with the same batch
    sends it, under the same key. Rows stopped by a rule are counted by status.
    """
    by_id: Mapping[str, Campaign] = {c.id: c for c in campaigns if c.id}
    statuses = Counter(outcomes.get_column("status").to_list())
    out = Outgoing(skipped={s: n for s, n in statuses.items() if s != "sent"})
    address_books: dict[str, dict[str, str]] = {}
    sent = messages.filter(pl.col("status") == "sent")
    for row in sent.iter_rows(named=True):
        campaign = by_id[row["campaign_id"]]
        if row["delivery_at"] is not None and row["delivery_at"] > now:
            out.deferred += 1
            continue
        column = address_column or ADDRESS_COLUMNS.get(campaign.channel)
        book = address_books.setdefault(campaign.channel, _addresses(profiles, column))
        identity = str(row["identity"])
        fields: dict[str, Any] = json.loads(row["fields"]) | _extras(campaign)
        out.messages.append(
            OutgoingMessage(
                key=idempotency_key(
                    campaign.id or "", str(row["request_id"]), int(row["recipient"]), identity
                ),
                channel=campaign.channel,
                campaign_id=campaign.id or "",
                identity=identity,
                fields=fields,
                to=book.get(identity),
                request_id=str(row["request_id"]),
                recipient=int(row["recipient"]),
            )
        )
    return out
