"""Every error triggerlab raises on purpose, under one root that carries where it happened.

::

    TriggerlabError                  campaign id, field, line:col, batch line, recipient
    ├── InputError                   a file, flag or value the user gave cannot be used (CLI exit 2)
    ├── CampaignError                a campaign or settings file breaks a rule; holds every Finding
    ├── TemplateError                Liquid that does not parse or fails to render
    │   └── TemplateSyntaxError      the template does not parse (the campaign is invalid)
    ├── PayloadError                 a trigger payload breaks the campaign's payload contract
    ├── SimulationError              a simulation cannot run on the inputs given
    └── SendError                    live delivery failed
        ├── TransportError           the transport could not deliver (network, timeout, 5xx, 429)
        └── DeliveryRejected         the receiver refused the message for good (4xx other than 429)

A message says what is wrong, the rule and the value given, and where it can, what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CampaignError",
    "DeliveryRejected",
    "Finding",
    "InputError",
    "PayloadError",
    "SendError",
    "SimulationError",
    "TemplateError",
    "TemplateSyntaxError",
    "TransportError",
    "TriggerlabError",
    "input_file",
]


class TriggerlabError(Exception):
    """The root of every error triggerlab raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        campaign_id: str | None = None,
        field: str | None = None,
        line: int | None = None,
        column: int | None = None,
        batch_line: int | None = None,
        recipient: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.campaign_id = campaign_id
        self.field = field
        self.line = line
        self.column = column
        self.batch_line = batch_line
        self.recipient = recipient

    def where(self) -> str:
        """Where the error happened, as a short prefix ('' when nothing is known)."""
        parts: list[str] = []
        if self.campaign_id:
            parts.append(f"campaign {self.campaign_id}")
        if self.field:
            pos = f":{self.line}:{self.column}" if self.line is not None and self.column is not None else ""
            parts.append(f"{self.field}{pos}")
        if self.batch_line is not None:
            parts.append(f"batch line {self.batch_line}")
        if self.recipient:
            parts.append(f"recipient {self.recipient}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


class InputError(TriggerlabError):
    """A file, flag or value given by the user cannot be used."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken rule: the field path, what the rule says, and the value given."""

    path: str
    message: str
    line: int | None = None
    source: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.source is not None:
            where = f"{self.source}:{self.line}: " if self.line is not None else f"{self.source}: "
        elif self.line is not None:
            where = f"line {self.line}: "
        return f"{where}{self.path}: {self.message}" if self.path else f"{where}{self.message}"


class CampaignError(TriggerlabError):
    """A campaign or settings document breaks one or more rules; ``findings`` holds them all."""

    def __init__(self, findings: list[Finding], *, campaign_id: str | None = None) -> None:
        self.findings = list(findings)
        text = "\n".join(str(f) for f in self.findings) or "invalid campaign"
        super().__init__(text, campaign_id=campaign_id)

    def __str__(self) -> str:
        return self.message


class TemplateError(TriggerlabError):
    """Liquid that does not parse or fails to render."""


class TemplateSyntaxError(TemplateError):
    """A template that does not parse; ``line`` and ``column`` point at it (1-based line, 0-based column)."""


class PayloadError(TriggerlabError):
    """A trigger payload breaks the campaign's payload contract."""


class SimulationError(TriggerlabError):
    """A simulation cannot run on the inputs given."""


class SendError(TriggerlabError):
    """Live delivery failed."""


class TransportError(SendError):
    """The transport could not deliver: network error, timeout, 429 or 5xx. Worth retrying."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        **where: str | int | None,
    ) -> None:
        super().__init__(message, **where)  # type: ignore[arg-type]
        self.status_code = status_code
        self.retry_after = retry_after


class DeliveryRejected(SendError):  # noqa: N818 (the name STYLE.md gives it)
    """The receiver refused the message for good (a 4xx other than 429). Not retried."""

    def __init__(self, message: str, *, status_code: int | None = None, **where: str | int | None) -> None:
        super().__init__(message, **where)  # type: ignore[arg-type]
        self.status_code = status_code


def input_file(source: str | Path, what: str) -> Path:
    """``source`` as a path to a file the user gave as ``what`` (``trigger batch``, ``profiles table``), or an
    :class:`InputError` saying why it cannot be read as one: missing, a directory, or not a regular file."""
    path = Path(source)
    if path.is_file():
        return path
    if not path.exists():
        raise InputError(f"{what} not found: {path}")
    if path.is_dir():
        raise InputError(f"{what} is a directory, not a file: {path} (give the file itself)")
    raise InputError(f"{what} is not a regular file: {path}")
