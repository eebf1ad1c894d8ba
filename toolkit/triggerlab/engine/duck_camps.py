"""The campaigns' settings as one table for the DuckDB engine's SQL (``camps``): a row per campaign."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from triggerlab.durations import parse_duration
from triggerlab.engine import common
from triggerlab.engine.inputs import EngineInputs

__all__ = ["campaign_rows"]


def campaign_rows(inputs: EngineInputs) -> pl.DataFrame:
    """One row of settings per campaign (``camps``): everything the SQL needs as columns."""
    records = []
    for cid, campaign in inputs.campaigns.items():
        start, end = common.schedule_bounds(campaign, inputs.settings)
        dnd = campaign.delivery.dnd
        delay = parse_duration(campaign.delivery.max_delay) if campaign.delivery.max_delay else None
        records.append(
            {
                "campaign_id": cid,
                "channel": campaign.channel,
                "sched_start": start,
                "sched_end": end,
                "cap": campaign.targeting_cap,
                "control_group": campaign.control_group,
                "system": campaign.apply_system_control,
                "dnd_start": None if dnd is None else datetime.strptime(dnd.start, "%H:%M").time(),
                "dnd_end": None if dnd is None else datetime.strptime(dnd.end, "%H:%M").time(),
                "dnd_discard": dnd is not None and dnd.action == "discard",
                "max_delay_s": None if delay is None or delay.is_months else delay.seconds,
                "max_delay_mo": delay.amount if delay is not None and delay.is_months else None,
                "reason_capped": common.target_capped(campaign),
                "reason_dnd": common.dnd_discarded(campaign) if dnd is not None else None,
                "reason_delay": common.expired_delay(campaign),
                "goal_event": campaign.goal.event if campaign.goal else None,
                "goal_s": None
                if not campaign.goal or campaign.goal.window.is_months
                else campaign.goal.window.seconds,
                "goal_mo": campaign.goal.window.amount
                if campaign.goal and campaign.goal.window.is_months
                else None,
            }
        )
    schema = pl.Schema(
        {
            "campaign_id": pl.String(),
            "channel": pl.String(),
            "sched_start": pl.Datetime("us", "UTC"),
            "sched_end": pl.Datetime("us", "UTC"),
            "cap": pl.Int64(),
            "control_group": pl.Int64(),
            "system": pl.Boolean(),
            "dnd_start": pl.Time(),
            "dnd_end": pl.Time(),
            "dnd_discard": pl.Boolean(),
            "max_delay_s": pl.Int64(),
            "max_delay_mo": pl.Int64(),
            "reason_capped": pl.String(),
            "reason_dnd": pl.String(),
            "reason_delay": pl.String(),
            "goal_event": pl.String(),
            "goal_s": pl.Int64(),
            "goal_mo": pl.Int64(),
        }
    )
    return pl.DataFrame(records, schema=schema, orient="row")
