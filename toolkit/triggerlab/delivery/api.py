"""``send()``: decide, then deliver. The library function behind ``triggerlab send``.

CleverTap (``via="clevertap"``) forwards the valid trigger requests of the given campaigns to CleverTap,
which applies the campaigns' rules itself. Direct channels (webhook, smtp, whatsapp, fcm) run the decision
pipeline here (``triggerlab.simulate(..., render="all")`` with the delivery log's sent messages as history)
and deliver each ``sent`` row that is due. Without ``live=True`` nothing leaves the machine: a
:class:`DryRunTransport` takes the messages and the workspace log is read, never written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from triggerlab.campaign import Campaign
from triggerlab.delivery.clevertap import CleverTapTransport
from triggerlab.delivery.dryrun import DryRunTransport
from triggerlab.delivery.fcm import FcmTransport
from triggerlab.delivery.log import DeliveryLog
from triggerlab.delivery.loop import DeliverySummary, deliver
from triggerlab.delivery.outgoing import Outgoing, clevertap_outgoing, direct_outgoing
from triggerlab.delivery.pacing import RetryPolicy
from triggerlab.delivery.smtp import SmtpTransport
from triggerlab.delivery.transport import Transport
from triggerlab.delivery.webhook import WebhookTransport
from triggerlab.delivery.whatsapp import WhatsAppTransport
from triggerlab.errors import InputError
from triggerlab.files import load_campaign, load_settings
from triggerlab.settings import Settings
from triggerlab.workspace import DEFAULT_WORKSPACE, Workspace

__all__ = ["VIA", "make_transport", "send"]

#: ``via`` -> (transport class, the campaign channel it carries; None: trigger requests)
VIA: dict[str, tuple[type[Transport], str | None]] = {
    "clevertap": (CleverTapTransport, None),
    "webhook": (WebhookTransport, "webhook"),
    "smtp": (SmtpTransport, "email"),
    "whatsapp": (WhatsAppTransport, "whatsapp"),
    "fcm": (FcmTransport, "push"),
}
T = TypeVar("T")


def make_transport(via: str, **options: Any) -> Transport:
    """The transport named ``via`` built with its keyword options (``host=``, ``base_url=``, ...)."""
    if via not in VIA:
        raise InputError(f"unknown transport {via!r}; expected one of {', '.join(VIA)}")
    try:
        return VIA[via][0](**options)
    except TypeError as exc:
        raise InputError(f"{via} transport: {exc}") from None


def _campaigns(given: Campaign | str | Path | Sequence[Campaign | str | Path]) -> list[Campaign]:
    items = [given] if isinstance(given, Campaign | str | Path) else list(given)
    campaigns = [c if isinstance(c, Campaign) else load_campaign(c) for c in items]
    for campaign in campaigns:
        if not campaign.id:
            raise InputError(f"campaign {campaign.name!r} has no id: publish it before sending")
    return campaigns


def _dry_log(workspace: Path) -> DeliveryLog:
    """An in-memory copy of the workspace's delivery log (so a dry run sees what was already sent)."""
    log = DeliveryLog.memory()
    if not workspace.is_file():
        return log
    quoted = str(workspace).replace("'", "''")
    try:
        log.con.execute(f"ATTACH '{quoted}' AS ws (READ_ONLY)")
    except duckdb.Error as exc:
        raise InputError(f"{workspace}: cannot read the workspace ({exc})") from None
    found = log.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'ws' AND table_name = 'delivery_log'"
    ).fetchone()
    if found and found[0]:
        columns = "key, state, transport, channel, campaign_id, identity, request_id, recipient, attempts, "
        columns += "response_code, reason, logged_at"
        # New sequence numbers, in the old order, so later rows of this run sort after the copied ones.
        log.con.execute(
            f"INSERT INTO delivery_log ({columns}) SELECT {columns} FROM ws.delivery_log ORDER BY seq"
        )
    log.con.execute("DETACH ws")
    return log


def _workspace_settings(workspace: Path) -> Settings:
    """The workspace's settings, read without writing (a dry run); defaults when there is no workspace."""
    if not workspace.is_file():
        return Settings()
    with Workspace(workspace, read_only=True) as ws:
        return ws.settings


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run to completion, also from inside a running loop (a notebook): then on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _direct(
    campaigns: list[Campaign],
    log: DeliveryLog,
    *,
    triggers: Any,
    profiles: Any,
    events: Any,
    settings: Settings,
    at: datetime | str | None,
    now: datetime,
    address_column: str | None,
    progress: bool,
) -> Outgoing:
    from triggerlab.engine.tables import load_profiles
    from triggerlab.simulation import simulate

    if profiles is None:
        raise InputError("sending on a direct channel needs the profiles table (profiles=... / --profiles)")
    profile_frame = load_profiles(profiles)
    result = simulate(
        campaigns,
        triggers=triggers,
        profiles=profile_frame,
        events=events,
        history=log.history(),
        settings=settings,
        at=at,
        render="all",
        progress=progress,
    )
    assert result.messages is not None, "simulate(render='all') returns the rendered messages"
    return direct_outgoing(
        result.outcomes,
        result.messages,
        campaigns,
        profiles=profile_frame,
        now=now,
        address_column=address_column,
    )


def send(
    campaigns: Campaign | str | Path | Sequence[Campaign | str | Path],
    *,
    triggers: Any,
    via: str,
    live: bool = False,
    transport: Transport | None = None,
    transport_options: Mapping[str, Any] | None = None,
    profiles: Any = None,
    events: Any = None,
    settings: Settings | str | Path | None = None,
    at: datetime | str | None = None,
    workspace: str | Path = DEFAULT_WORKSPACE,
    rate: float | None = None,
    concurrency: int = 16,
    retry: RetryPolicy | None = None,
    address_column: str | None = None,
    now: datetime | None = None,
    progress: bool = True,
) -> DeliverySummary:
    """Send the campaigns' messages for a trigger batch through ``via``; a dry run unless ``live``.

    ``transport`` replaces the one ``via`` names (tests inject a :class:`DryRunTransport` or a configured
    one); ``transport_options`` configure the named one. The delivery log lives in ``workspace``; a
    resumed or repeated run skips every message it already settled. ``now`` (default: the clock) decides
    which messages are due.
    """
    if via not in VIA:
        raise InputError(f"unknown transport {via!r}; expected one of {', '.join(VIA)}")
    chosen = _campaigns(campaigns)
    channel = VIA[via][1]
    for campaign in chosen:
        if channel is not None and campaign.channel != channel:
            raise InputError(
                f"campaign {campaign.id} is a {campaign.channel} campaign;"
                f" --via {via} sends {channel} campaigns"
            )
    workspace = Path(workspace)
    ws = Workspace(workspace) if live else None
    log = DeliveryLog(ws.con) if ws is not None else _dry_log(workspace)
    try:
        if isinstance(settings, Settings):
            rules = settings
        elif settings is not None:
            rules = load_settings(settings)
        else:
            rules = ws.settings if ws is not None else _workspace_settings(workspace)
        if channel is None:
            from triggerlab.triggers import load_triggers, parse_received_at

            at_time = None if at is None else parse_received_at(at)
            if at is not None and at_time is None:
                raise InputError(f"--at must be an ISO-8601 time like 2026-11-01T10:00:00Z (got {at!r})")
            outgoing = clevertap_outgoing(load_triggers(triggers, at=at_time), chosen, rules)
        else:
            outgoing = _direct(
                chosen,
                log,
                triggers=triggers,
                profiles=profiles,
                events=events,
                settings=rules,
                at=at,
                now=now or datetime.now(UTC),
                address_column=address_column,
                progress=progress,
            )
        if not live:
            # A dry run never sends, whatever transport was given; an injected DryRunTransport is kept so
            # the caller can read what would have gone out.
            transport = transport if isinstance(transport, DryRunTransport) else DryRunTransport()
        elif transport is None:
            transport = make_transport(via, **(transport_options or {}))
        elif (channel or "clevertap") not in transport.channels:
            raise InputError(f"{type(transport).__name__} does not carry {channel or 'clevertap'} messages")
        summary = DeliverySummary(skipped=outgoing.skipped, deferred=outgoing.deferred, dry_run=not live)
        return _run(
            deliver(
                outgoing.messages,
                transport,
                log=log,
                concurrency=concurrency,
                rate=rate,
                retry=retry,
                progress=progress,
                summary=summary,
            )
        )
    finally:
        if ws is not None:
            ws.close()
        else:
            log.con.close()
