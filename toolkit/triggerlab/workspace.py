"""The workspace: one embedded DuckDB file holding settings and published campaigns with their versions.

Later parts add their own tables here (the delivery log); each creates what it needs with
``CREATE TABLE IF NOT EXISTS`` so an older workspace file keeps working.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

import duckdb

from triggerlab.campaign import Campaign
from triggerlab.duck import connect
from triggerlab.errors import InputError
from triggerlab.files import load_campaign, save_campaign
from triggerlab.settings import Settings

__all__ = ["DEFAULT_WORKSPACE", "PublishedCampaign", "Workspace", "publish"]

DEFAULT_WORKSPACE = "triggerlab.duckdb"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (name VARCHAR PRIMARY KEY, document VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS campaigns (
    id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    document VARCHAR NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, version)
);
"""
_ID_LINE = re.compile(r"^id:.*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class PublishedCampaign:
    """One stored version of a campaign."""

    id: str
    version: int
    name: str
    channel: str
    published_at: datetime
    campaign: Campaign


class Workspace:
    """An embedded DuckDB workspace file (``./triggerlab.duckdb`` unless told otherwise)."""

    def __init__(self, path: str | Path = DEFAULT_WORKSPACE, *, read_only: bool = False) -> None:
        self.path = Path(path)
        try:
            self.con = connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise InputError(f"{self.path}: cannot open the workspace ({exc})") from None
        if not read_only:
            self.con.execute(_SCHEMA)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # settings ---------------------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        row = self.con.execute("SELECT document FROM settings WHERE name = 'workspace'").fetchone()
        return Settings.model_validate_json(row[0]) if row else Settings()

    @settings.setter
    def settings(self, value: Settings) -> None:
        document = value.model_dump_json(exclude_unset=True)
        self.con.execute("INSERT OR REPLACE INTO settings VALUES ('workspace', ?)", [document])

    # campaigns --------------------------------------------------------------------------------------
    def _new_id(self, now: float | None) -> str:
        # CleverTap's ids are 10 digits and look like the Unix time of publishing; so are ours, made unique.
        row = self.con.execute("SELECT max(id::BIGINT) FROM campaigns").fetchone()
        latest = int(row[0]) if row and row[0] is not None else 0
        return str(max(int(time.time() if now is None else now), latest + 1, 1_000_000_000))

    def publish(self, campaign: Campaign, *, now: float | None = None) -> PublishedCampaign:
        """Store a campaign: a new id if it has none, a new version if its content changed."""
        campaign_id = campaign.id or self._new_id(now)
        stored = campaign if campaign.id else campaign.model_copy(update={"id": campaign_id})
        document = stored.model_dump_json(exclude_unset=True)
        latest = self.get(campaign_id)
        if latest is not None and latest.campaign.model_dump_json(exclude_unset=True) == document:
            return latest
        version = 1 if latest is None else latest.version + 1
        self.con.execute(
            "INSERT INTO campaigns VALUES (?, ?, ?, ?, ?, now())",
            [campaign_id, version, stored.name, stored.channel, document],
        )
        published = self.get(campaign_id)
        assert published is not None
        return published

    def _rows(self, where: str, params: list[object]) -> list[PublishedCampaign]:
        rows = self.con.execute(
            "SELECT id, version, name, channel, published_at, document FROM campaigns "
            f"WHERE {where} ORDER BY id, version",
            params,
        ).fetchall()
        return [
            PublishedCampaign(r[0], r[1], r[2], r[3], r[4], Campaign.model_validate_json(r[5])) for r in rows
        ]

    def get(self, campaign_id: str, version: int | None = None) -> PublishedCampaign | None:
        """The latest (or the given) version of a campaign, or None."""
        if version is not None:
            found = self._rows("id = ? AND version = ?", [campaign_id, version])
        else:
            found = self._rows(
                "id = ? AND version = (SELECT max(version) FROM campaigns WHERE id = ?)",
                [campaign_id, campaign_id],
            )
        return found[0] if found else None

    def campaigns(self) -> list[PublishedCampaign]:
        """The latest version of every published campaign, by id."""
        return self._rows("(id, version) IN (SELECT id, max(version) FROM campaigns GROUP BY id)", [])

    def versions(self, campaign_id: str) -> list[PublishedCampaign]:
        return self._rows("id = ?", [campaign_id])


def _write_id(path: Path, campaign: Campaign) -> None:
    """Put the id into the file, keeping a YAML file's comments and layout."""
    if path.suffix.lower() == ".json":
        save_campaign(campaign, path)
        return
    text = path.read_text(encoding="utf-8")
    line = f"id: '{campaign.id}'"
    new = _ID_LINE.sub(line, text, count=1) if _ID_LINE.search(text) else f"{line}\n{text}"
    if new != text:
        path.write_text(new, encoding="utf-8")


def publish(path: str | Path, *, workspace: str | Path = DEFAULT_WORKSPACE) -> PublishedCampaign:
    """Validate a campaign file, store it in the workspace and write its id back into the file."""
    from triggerlab.validation import check_campaign

    p = Path(path)
    campaign = load_campaign(p)
    check_campaign(campaign, source=str(p))
    with Workspace(workspace) as ws:
        published = ws.publish(campaign)
    _write_id(p, published.campaign)
    return published
