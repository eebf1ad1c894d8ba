"""Campaign and settings files: YAML or JSON in, canonical YAML or JSON out, every error at once.

Loading reports every broken rule in one :class:`~triggerlab.errors.CampaignError`, each finding naming the
field path, the rule and the value given, with its line in a YAML file. Saving writes only the keys the
document sets, in model order, so a file written by :func:`save_campaign` reads back and writes again byte
for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from triggerlab._model import Model, show
from triggerlab.campaign import Campaign
from triggerlab.errors import CampaignError, Finding, InputError
from triggerlab.settings import Settings

__all__ = [
    "dump_document",
    "findings_from_validation",
    "load_campaign",
    "load_settings",
    "parse_campaign",
    "parse_settings",
    "read_document",
    "save_campaign",
    "save_settings",
]

M = TypeVar("M", bound=Model)
_TAGS = {"PropertyFilter", "EventFilter", "PushMessage", "EmailMessage", "WhatsAppMessage", "WebhookMessage"}
Lines = dict[tuple[str | int, ...], int]


def _is_json(path: Path | None, text: str) -> bool:
    if path is not None:
        return path.suffix.lower() == ".json"
    return text.lstrip().startswith("{")


def _yaml_lines(node: yaml.Node, prefix: tuple[str | int, ...], out: Lines) -> None:
    out[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*prefix, str(key.value))
            out[path] = key.start_mark.line + 1
            _yaml_lines(value, path, out)
            out[path] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _yaml_lines(item, (*prefix, index), out)


def read_document(text: str, *, source: str | None = None, json_text: bool = False) -> tuple[Any, Lines]:
    """Parse YAML or JSON text into data and a map from key path to line (YAML only)."""
    if json_text:
        try:
            return json.loads(text), {}
        except json.JSONDecodeError as exc:
            finding = Finding("", f"not valid JSON: {exc.msg}", line=exc.lineno, source=source)
            raise CampaignError([finding]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        raise CampaignError([Finding("", f"not valid YAML: {problem}", line=line, source=source)]) from None
    lines: Lines = {}
    if node is not None:
        _yaml_lines(node, (), lines)
    return data, lines


def _describe(error: Any) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "triggerlab":
        return str(error["msg"])
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field; check the spelling"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        return f"must be one of {expected.replace(' or ', ', ')} (got {show(value)})"
    if kind.startswith("int_"):
        return f"must be a whole number (got {show(value)})"
    if kind.startswith(("float_", "decimal_")):
        return f"must be a number (got {show(value)})"
    if kind.startswith("bool_"):
        return f"must be true or false (got {show(value)})"
    if kind.startswith("string_too_short"):
        return f"must not be empty (got {show(value)})"
    if kind.startswith("string_"):
        return f"must be text (got {show(value)})"
    # a tagged union (a message by channel, a filter by kind) given something that is not a mapping
    if kind in ("model_type", "model_attributes_type", "dict_type") or (
        kind.startswith("union_tag") and not isinstance(value, dict)
    ):
        return f"must be a mapping of fields (got {show(value)})"
    if kind == "list_type":
        return f"must be a list (got {show(value)})"
    if kind.startswith("datetime_"):
        return f"must be an ISO-8601 date-time (got {show(value)})"
    if kind == "greater_than_equal":
        return f"must be {ctx.get('ge')} or more (got {show(value)})"
    message = str(error["msg"])
    return f"{message[:1].lower()}{message[1:]} (got {show(value)})"


def findings_from_validation(
    exc: ValidationError, lines: Lines | None = None, *, source: str | None = None
) -> list[Finding]:
    """Turn pydantic's errors into findings: ``path: rule (got value)``, with YAML lines when known."""
    lines = lines or {}
    errors = exc.errors()
    bad_channel = any(e["loc"] == ("channel",) for e in errors)
    findings: list[Finding] = []
    for error in errors:
        if error["type"] in ("union_tag_not_found", "union_tag_invalid") and bad_channel:
            continue  # the channel error already explains why the message could not be checked
        loc = tuple(part for part in error["loc"] if part not in _TAGS)
        line = None
        for cut in range(len(loc), -1, -1):
            if loc[:cut] in lines:
                line = lines[loc[:cut]]
                break
        path = ".".join(str(p) for p in loc)
        findings.append(Finding(path, _describe(error), line=line, source=source))
    return sorted(findings, key=lambda f: (f.line or 0, f.path))


def _parse(model: type[M], text: str, *, source: str | None, json_text: bool) -> M:
    data, lines = read_document(text, source=source, json_text=json_text)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CampaignError([Finding("", f"must be a mapping of fields (got {show(data)})", source=source)])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise CampaignError(findings_from_validation(exc, lines, source=source)) from None


def parse_campaign(text: str, *, source: str | None = None, json_text: bool = False) -> Campaign:
    """Read a campaign from YAML (or JSON) text; raise CampaignError listing every broken rule."""
    return _parse(Campaign, text, source=source, json_text=json_text)


def parse_settings(text: str, *, source: str | None = None, json_text: bool = False) -> Settings:
    return _parse(Settings, text, source=source, json_text=json_text)


def _read(path: str | Path) -> tuple[Path, str]:
    p = Path(path)
    try:
        return p, p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, not a file") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: not UTF-8 text") from None


def load_campaign(path: str | Path) -> Campaign:
    """Load a campaign file (``.yaml``/``.yml`` or ``.json``)."""
    p, text = _read(path)
    return parse_campaign(text, source=str(p), json_text=_is_json(p, text))


def load_settings(path: str | Path | None) -> Settings:
    """Load workspace settings; ``None`` gives the defaults."""
    if path is None:
        return Settings()
    p, text = _read(path)
    return parse_settings(text, source=str(p), json_text=_is_json(p, text))


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def dump_document(model: Model, *, json_text: bool = False) -> str:
    """The canonical text of a model: only the keys it sets, in model order."""
    data = model.model_dump(mode="json", exclude_unset=True)
    if json_text:
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return text


def save_campaign(campaign: Campaign, path: str | Path) -> None:
    p = Path(path)
    p.write_text(dump_document(campaign, json_text=p.suffix.lower() == ".json"), encoding="utf-8")


def save_settings(settings: Settings, path: str | Path) -> None:
    p = Path(path)
    p.write_text(dump_document(settings, json_text=p.suffix.lower() == ".json"), encoding="utf-8")
