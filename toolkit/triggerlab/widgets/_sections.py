"""The builder's smaller sections: start, goal, control group, targeting cap, schedule, delivery.

Each section reads its part of the campaign data (``load``), writes it back (``dump``) and names its
fields by path (``fields``) so findings land next to the input that caused them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import ipywidgets as w

from triggerlab.widgets._field import Field

__all__ = ["ControlSection", "DeliverySection", "GoalSection", "ScheduleSection", "StartSection"]

Changed = Callable[[], None]
_WIDE = w.Layout(width="320px")
_WORKSPACE_ZONE = "workspace"


def _text(placeholder: str = "", layout: w.Layout | None = None) -> w.Text:
    return w.Text(placeholder=placeholder, continuous_update=True, layout=layout or _WIDE)


def _watch(changed: Changed, *widgets: w.Widget) -> None:
    for widget in widgets:
        widget.observe(lambda _change: changed(), names="value")


def _whole(text: str) -> int | str | None:
    """Typed text as a whole number (``2,000`` too); other text goes to the model as is so its error
    names it."""
    stripped = text.strip()
    digits = stripped.replace(",", "")
    if not stripped:
        return None
    return int(digits) if digits.lstrip("-").isdigit() else stripped


class StartSection:
    """Name, messaging channel, qualification criteria (External Trigger is the only one)."""

    def __init__(self, changed: Changed) -> None:
        self.name = Field("Campaign name", _text("e.g. Order confirmation"))
        self.channel = Field(
            "Channel",
            w.ToggleButtons(
                options=[
                    ("Push", "push"),
                    ("Email", "email"),
                    ("WhatsApp", "whatsapp"),
                    ("Webhook", "webhook"),
                ],
                value="push",
                style={"button_width": "90px"},
            ),
        )
        self.qualification = Field(
            "Qualification",
            w.Dropdown(
                options=[("External Trigger (API call)", "external_trigger")], disabled=True, layout=_WIDE
            ),
        )
        _watch(changed, self.name.input, self.channel.input)
        self.children = [self.name.box, self.channel.box, self.qualification.box]

    def load(self, data: dict[str, Any]) -> None:
        self.name.input.value = data.get("name") or ""
        self.channel.input.value = data.get("channel") or "push"

    def dump(self, data: dict[str, Any]) -> None:
        data["name"] = self.name.input.value
        data["channel"] = self.channel.input.value

    def fields(self) -> dict[str, Field]:
        return {"name": self.name, "channel": self.channel, "qualification": self.qualification}


class GoalSection:
    """Optional conversion goal: an event within a time after the trigger, with an optional revenue."""

    def __init__(self, changed: Changed) -> None:
        self.enabled = w.Checkbox(value=False, description="Measure a conversion goal", indent=False)
        self.event = Field("Goal event", _text("e.g. Charged"))
        self.within = Field("Within", _text("e.g. 24h"), hint="after the trigger: 30m, 24h, 7d")
        self.revenue = Field("Revenue property", _text("optional, e.g. Amount"))
        self.details = w.VBox([self.event.box, self.within.box, self.revenue.box])
        _watch(changed, self.enabled, self.event.input, self.within.input, self.revenue.input)
        self.children = [self.enabled, self.details]

    def load(self, data: dict[str, Any]) -> None:
        goal = data.get("goal") or {}
        self.enabled.value = bool(goal)
        self.event.input.value = goal.get("event", "")
        self.within.input.value = goal.get("within", "")
        self.revenue.input.value = goal.get("revenue_property") or ""

    def dump(self, data: dict[str, Any]) -> None:
        self.details.layout.display = None if self.enabled.value else "none"
        if not self.enabled.value:
            return
        goal: dict[str, Any] = {
            "event": self.event.input.value.strip(),
            "within": self.within.input.value.strip(),
        }
        if self.revenue.input.value.strip():
            goal["revenue_property"] = self.revenue.input.value.strip()
        data["goal"] = goal

    def fields(self) -> dict[str, Field]:
        return {"goal.event": self.event, "goal.within": self.within, "goal.revenue_property": self.revenue}


class ControlSection:
    """The campaign's control group and whether the workspace's system control group applies."""

    def __init__(self, changed: Changed) -> None:
        self.percent = Field(
            "Control group %", _text("0", w.Layout(width="100px")), hint="0, or 2 to 99 percent held out"
        )
        self.system = w.Checkbox(
            value=True,
            description="Apply the system control group (turn off for transactional messages)",
            indent=False,
            layout=w.Layout(width="520px"),
        )
        _watch(changed, self.percent.input, self.system)
        self.children = [self.percent.box, self.system]

    def load(self, data: dict[str, Any]) -> None:
        self.percent.input.value = str(data.get("control_group", 0))
        self.system.value = bool(data.get("apply_system_control", True))

    def dump(self, data: dict[str, Any]) -> None:
        data["control_group"] = _whole(self.percent.input.value) or 0
        data["apply_system_control"] = self.system.value

    def fields(self) -> dict[str, Field]:
        return {"control_group": self.percent}


class CapSection:
    """Targeting cap: at most this many distinct users (blank: no limit)."""

    def __init__(self, changed: Changed) -> None:
        self.cap = Field(
            "Targeting cap",
            _text("no limit", w.Layout(width="140px")),
            hint="100 or more; blank for no limit",
        )
        _watch(changed, self.cap.input)
        self.children = [self.cap.box]

    def load(self, data: dict[str, Any]) -> None:
        cap = data.get("targeting_cap")
        self.cap.input.value = "" if cap is None else str(cap)

    def dump(self, data: dict[str, Any]) -> None:
        data["targeting_cap"] = _whole(self.cap.input.value)

    def fields(self) -> dict[str, Field]:
        return {"targeting_cap": self.cap}


def _offset_name(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class ScheduleSection:
    """Start and end date-times (either may be blank) in one time zone; blank zone = the workspace's."""

    def __init__(self, changed: Changed) -> None:
        self.start = Field("Start", w.NaiveDatetimePicker(layout=_WIDE), hint="blank: starts at once")
        self.end = Field("End", w.NaiveDatetimePicker(layout=_WIDE), hint="blank: runs until stopped")
        zones = [("Workspace time zone", _WORKSPACE_ZONE), ("UTC", "UTC")]
        zones += [(name, name) for name in sorted(available_timezones()) if "/" in name]
        self.zone = Field("Time zone", w.Dropdown(options=zones, value=_WORKSPACE_ZONE, layout=_WIDE))
        _watch(changed, self.start.input, self.end.input, self.zone.input)
        self.children = [self.start.box, self.end.box, self.zone.box]

    def _zone(self) -> tzinfo | None:
        name = self.zone.input.value
        if name == _WORKSPACE_ZONE:
            return None
        if name.startswith("UTC") and len(name) > 3:
            hours, minutes = int(name[4:6]), int(name[7:9])
            sign = 1 if name[3] == "+" else -1
            return timezone(sign * timedelta(hours=hours, minutes=minutes))
        return ZoneInfo(name)

    def load(self, data: dict[str, Any]) -> None:
        schedule = data.get("schedule") or {}
        times = [
            None if schedule.get(k) is None else datetime.fromisoformat(schedule[k]) for k in ("start", "end")
        ]
        aware = next((t for t in times if t is not None and t.tzinfo is not None), None)
        zone = _WORKSPACE_ZONE
        if aware is not None:
            offset = aware.utcoffset() or timedelta(0)
            # a file keeps offsets, not zone names: show the offset as written
            zone = "UTC" if offset == timedelta(0) else _offset_name(offset)
            if zone not in [value for _label, value in self.zone.input.options]:
                self.zone.input.options = [*self.zone.input.options, (zone, zone)]
        self.zone.input.value = zone
        local = [
            t.astimezone(aware.tzinfo).replace(tzinfo=None) if t and aware and t.tzinfo else t for t in times
        ]
        self.start.input.value, self.end.input.value = local

    def dump(self, data: dict[str, Any]) -> None:
        zone = self._zone()
        schedule: dict[str, Any] = {}
        for key, field in (("start", self.start), ("end", self.end)):
            value = field.input.value
            if value is not None:
                schedule[key] = (value if zone is None else value.replace(tzinfo=zone)).isoformat()
        data["schedule"] = schedule

    def fields(self) -> dict[str, Field]:
        return {"schedule": self.zone, "schedule.start": self.start, "schedule.end": self.end}


class DeliverySection:
    """Global limits, Do Not Disturb hours, maximum delay and the minimum gap between messages."""

    def __init__(self, changed: Changed) -> None:
        self.global_limits = w.Checkbox(
            value=True,
            description="Apply global campaign limits (frequency caps)",
            indent=False,
            layout=w.Layout(width="520px"),
        )
        self.dnd = w.Checkbox(
            value=False,
            description="Do Not Disturb hours (user's local time)",
            indent=False,
            layout=w.Layout(width="520px"),
        )
        self.dnd_start = Field("DND from", _text("21:00", w.Layout(width="100px")))
        self.dnd_end = Field("DND until", _text("09:00", w.Layout(width="100px")))
        self.dnd_action = Field(
            "During DND",
            w.Dropdown(
                options=[("delay until it ends", "delay"), ("discard the message", "discard")], layout=_WIDE
            ),
        )
        self.dnd_box = w.VBox([self.dnd_start.box, self.dnd_end.box, self.dnd_action.box])
        self.max_delay = Field(
            "Maximum delay",
            _text("optional, e.g. 12h", w.Layout(width="160px")),
            hint="later than this: expired",
        )
        self.min_gap = Field(
            "Minimum gap",
            _text("0m", w.Layout(width="160px")),
            hint="0m (every trigger) or 5m to 30d per user",
        )
        _watch(
            changed,
            self.global_limits,
            self.dnd,
            self.dnd_start.input,
            self.dnd_end.input,
            self.dnd_action.input,
            self.max_delay.input,
            self.min_gap.input,
        )
        self.children = [self.global_limits, self.dnd, self.dnd_box, self.max_delay.box, self.min_gap.box]

    def load(self, data: dict[str, Any]) -> None:
        delivery = data.get("delivery") or {}
        self.global_limits.value = bool(delivery.get("apply_global_limits", True))
        dnd = delivery.get("dnd")
        self.dnd.value = dnd is not None
        self.dnd_start.input.value = (dnd or {}).get("start", "21:00")
        self.dnd_end.input.value = (dnd or {}).get("end", "09:00")
        self.dnd_action.input.value = (dnd or {}).get("action", "delay")
        self.max_delay.input.value = delivery.get("max_delay") or ""
        self.min_gap.input.value = delivery.get("min_gap", "0m")

    def dump(self, data: dict[str, Any]) -> None:
        self.dnd_box.layout.display = None if self.dnd.value else "none"
        delivery: dict[str, Any] = {
            "apply_global_limits": self.global_limits.value,
            "min_gap": self.min_gap.input.value.strip(),
        }
        if self.dnd.value:
            delivery["dnd"] = {
                "start": self.dnd_start.input.value.strip(),
                "end": self.dnd_end.input.value.strip(),
                "action": self.dnd_action.input.value,
            }
        if self.max_delay.input.value.strip():
            delivery["max_delay"] = self.max_delay.input.value.strip()
        data["delivery"] = delivery

    def fields(self) -> dict[str, Field]:
        return {
            "delivery.dnd.start": self.dnd_start,
            "delivery.dnd.end": self.dnd_end,
            "delivery.dnd": self.dnd_action,
            "delivery.max_delay": self.max_delay,
            "delivery.min_gap": self.min_gap,
        }
