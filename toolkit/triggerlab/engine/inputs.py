"""What an engine is given, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from triggerlab.campaign import Campaign
from triggerlab.engine.clock import valid_zone
from triggerlab.settings import Settings

__all__ = ["EngineInputs", "EngineOutput", "RenderMode", "zone_warnings"]

RenderMode = Literal["static", "sample", "all"]

#: rendered messages kept per campaign with ``render="sample"`` (the first rows, in row order)
SAMPLE_SIZE = 100


@dataclass(frozen=True, slots=True)
class EngineInputs:
    """Typed tables (see :mod:`triggerlab.engine.tables`), campaigns by id, settings, render mode."""

    campaigns: dict[str, Campaign]
    settings: Settings
    profiles: pl.DataFrame
    events: pl.DataFrame
    history: pl.DataFrame
    render: RenderMode = "static"


@dataclass(frozen=True, slots=True)
class EngineOutput:
    """``outcomes`` (OUTCOMES_SCHEMA, sorted by line, recipient); ``messages`` (MESSAGES_SCHEMA) or None."""

    outcomes: pl.DataFrame
    messages: pl.DataFrame | None
    warnings: list[str]


def zone_warnings(profiles: pl.DataFrame, settings: Settings) -> list[str]:
    """One warning per invalid time zone name in the profile table (they fall back to the workspace zone)."""
    if "timezone" not in profiles.columns:
        return []
    names = profiles["timezone"].drop_nulls().unique().sort().to_list()
    return [
        f"profile time zone {name!r} is not an IANA zone name; those users use the workspace zone"
        f" {settings.timezone}"
        for name in names
        if not valid_zone(name)
    ]
