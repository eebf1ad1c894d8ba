"""How a rendered message looks to its recipient: email in a sandboxed frame, push as a phone card,
WhatsApp as a chat bubble, webhook as the request with a pretty-printed body.

Pure functions from a channel and the rendered fields (``RenderedMessage.fields``) to HTML, shared by the
template editor and the simulation report. Every value is escaped; the email HTML only ever runs inside an
``<iframe sandbox="">`` (no scripts, no same-origin access, no navigation).
"""

from __future__ import annotations

import contextlib
import json
from html import escape
from typing import Any

__all__ = ["message_preview"]


def message_preview(channel: str, fields: dict[str, Any]) -> str:
    """HTML showing the rendered message of ``channel``."""
    if channel == "email":
        return _email(fields)
    if channel == "push":
        return _push(fields)
    if channel == "whatsapp":
        return _whatsapp(fields)
    return _webhook(fields)


def _text(fields: dict[str, Any], name: str) -> str:
    return escape(str(fields.get(name) or ""))


def _email(fields: dict[str, Any]) -> str:
    sender = _text(fields, "from_email")
    if fields.get("from_name"):
        sender = f"{_text(fields, 'from_name')} &lt;{sender}&gt;"
    head = [f"<div><b>From:</b> {sender}</div>", f"<div><b>Subject:</b> {_text(fields, 'subject')}</div>"]
    if fields.get("reply_to"):
        head.append(f"<div><b>Reply-to:</b> {_text(fields, 'reply_to')}</div>")
    if fields.get("preheader"):
        head.append(f"<div style='color:#6b7280'>{_text(fields, 'preheader')}</div>")
    if fields.get("html"):
        document = str(fields["html"])
    else:
        document = f"<pre style='font-family:inherit;white-space:pre-wrap'>{_text(fields, 'text')}</pre>"
    body = f'<iframe class="tl-mail" sandbox="" srcdoc="{escape(document, quote=True)}"></iframe>'
    head_html = f"<div class='tl-mail-head'>{''.join(head)}</div>"
    return f"<div class='tl-preview tl-preview-email'>{head_html}{body}</div>"


def _push(fields: dict[str, Any]) -> str:
    image = f"<img src='{_text(fields, 'image_url')}' alt=''>" if fields.get("image_url") else ""
    link = f"<div class='tl-note'>opens {_text(fields, 'deep_link')}</div>" if fields.get("deep_link") else ""
    return (
        "<div class='tl-preview tl-preview-push tl-phone'><div class='tl-push'>"
        "<div class='tl-push-app'>Your app · now</div>"
        f"<div class='tl-push-title'>{_text(fields, 'title')}</div>"
        f"<div class='tl-push-body'>{_text(fields, 'body')}</div>{image}{link}</div></div>"
    )


def _whatsapp(fields: dict[str, Any]) -> str:
    params = "".join(
        f"<li><code>{{{{{index}}}}}</code> {escape(str(value))}</li>"
        for index, value in enumerate(fields.get("parameters") or [], start=1)
    )
    language = f"<span class='tl-pill'>{_text(fields, 'language')}</span>"
    return (
        "<div class='tl-preview tl-preview-whatsapp tl-chat'>"
        f"<div><b>Template</b> {_text(fields, 'template')} {language}</div><ol>{params}</ol></div>"
    )


def _webhook(fields: dict[str, Any]) -> str:
    headers = "".join(f"{escape(k)}: {escape(str(v))}\n" for k, v in (fields.get("headers") or {}).items())
    body = str(fields.get("body") or "")
    # a text body (or broken JSON, reported separately) is shown as rendered
    with contextlib.suppress(ValueError):
        body = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    method = escape(str(fields.get("method") or "POST"))
    return (
        "<div class='tl-preview tl-preview-webhook'>"
        f"<div class='tl-code'><b>{method}</b> {_text(fields, 'url')}\n{headers}\n{escape(body)}</div></div>"
    )
