"""WhatsApp Cloud API and FCM HTTP v1 transports: bodies received by a local server validate against the
providers' published schemas (extracted at test time from /work/shared/external), with headers and errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import shared_file
from tests.send_receivers import Answer, HttpReceiver
from triggerlab.delivery import (
    DeliveryLog,
    FcmTransport,
    OutgoingMessage,
    RetryPolicy,
    WhatsAppTransport,
    deliver,
    idempotency_key,
)
from triggerlab.errors import SendError

FAST = RetryPolicy(max_attempts=3, base=0.01, cap=0.05)
WHATSAPP_SPEC = "meta_whatsapp_openapi/business-messaging-api_v23.0.yaml"
FCM_DISCOVERY = "fcm_v1_discovery/fcm.v1.json"


def _closed(schema: Any) -> Any:
    """Close every object schema (no unknown keys), so a misspelt field fails instead of passing silently."""
    if isinstance(schema, dict):
        out = {k: _closed(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


def _from_discovery(schema: Any) -> Any:
    """Discovery schemas to JSON Schema: bare ``$ref`` names point into definitions; ``any`` is no type."""
    if isinstance(schema, dict):
        out = {k: _from_discovery(v) for k, v in schema.items() if k not in ("id", "format")}
        if isinstance(out.get("$ref"), str):
            out["$ref"] = f"#/definitions/{out['$ref']}"
        if out.get("type") == "any":
            del out["type"]
        return out
    if isinstance(schema, list):
        return [_from_discovery(v) for v in schema]
    return schema


@pytest.fixture(scope="module")
def fcm_validator() -> jsonschema.Draft7Validator:
    discovery = json.loads(shared_file(FCM_DISCOVERY).read_text())
    assert discovery["revision"] == "20261023"
    definitions = _closed(_from_discovery(discovery["schemas"]))
    schema = {"$ref": "#/definitions/SendMessageRequest", "definitions": definitions}
    return jsonschema.Draft7Validator(schema)


@pytest.fixture(scope="module")
def whatsapp_validators() -> tuple[jsonschema.Draft202012Validator, jsonschema.Draft202012Validator]:
    """The template message and the body component as published (lenient: objects stay open, because the
    spec's ``allOf`` variants cannot be closed without rejecting the base properties; see the README there).
    The body component is checked on its own as the spec's discriminator is not JSON Schema."""
    spec = yaml.load(shared_file(WHATSAPP_SPEC).read_text(), Loader=yaml.CSafeLoader)
    schemas = spec["components"]["schemas"]

    def validator(name: str) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}", **spec})

    assert "allOf" in schemas["TemplateMessage"]
    return validator("TemplateMessage"), validator("BodyComponent")


def outgoing(channel: str, n: int, to: str | None, fields: dict[str, Any]) -> OutgoingMessage:
    return OutgoingMessage(
        key=idempotency_key("1750575722", str(n), 0, f"user-{n}"),
        channel=channel,
        campaign_id="1750575722",
        identity=f"user-{n}",
        fields=fields,
        to=to,
        request_id=str(n),
    )


def test_whatsapp_template_messages(
    monkeypatch: pytest.MonkeyPatch, whatsapp_validators: tuple[Any, Any]
) -> None:
    message_schema, body_schema = whatsapp_validators
    monkeypatch.setenv("WHATSAPP_TOKEN", "EAAG-secret-token")
    fields = {"template": "order_shipped", "language": "en_GB", "parameters": ["Asha", "#1001"]}
    log = DeliveryLog.memory()
    with HttpReceiver(lambda _: Answer(200, b'{"messages": [{"id": "wamid.1"}]}')) as r:
        transport = WhatsAppTransport(phone_number_id="106540352242922", base_url=f"{r.url}/v23.0")
        m = outgoing("whatsapp", 1, "919876543210", fields)
        bare = outgoing("whatsapp", 2, "447700900123", {"template": "hello_world", "language": "en_US"})
        asyncio.run(deliver([m, bare], transport, log=log, retry=FAST, concurrency=1))
    first, second = r.requests
    assert (first.method, first.path) == ("POST", "/v23.0/106540352242922/messages")
    assert first.headers["authorization"] == "Bearer EAAG-secret-token"
    assert first.headers["idempotency-key"] == m.key
    assert first.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "919876543210",
        "type": "template",
        "template": {
            "name": "order_shipped",
            "language": {"policy": "deterministic", "code": "en_GB"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Asha"}, {"type": "text", "text": "#1001"}],
                }
            ],
        },
    }
    assert "components" not in second.json()["template"]
    for got in (first, second):
        message_schema.validate(got.json())
        for component in got.json()["template"].get("components", []):
            body_schema.validate(component)
    assert log.counts()["sent"] == 2
    assert "EAAG" not in repr(transport)


def test_whatsapp_schema_catches_a_wrong_body(whatsapp_validators: tuple[Any, Any]) -> None:
    message_schema, _ = whatsapp_validators
    with pytest.raises(jsonschema.ValidationError, match="'policy' is a required property"):
        message_schema.validate(
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "1",
                "type": "template",
                "template": {"name": "x", "language": {"code": "en_US"}},
            }
        )


def test_whatsapp_throttling_is_retried_and_other_400s_are_dead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAPP_TOKEN", "t")
    answers = {
        "1555": [
            Answer(400, b'{"error": {"code": 130429, "message": "Rate limit hit"}}'),
            Answer(200, b'{"messages": [{"id": "wamid.2"}]}'),
        ],
        "1666": [Answer(400, b'{"error": {"code": 132001, "message": "Template name does not exist"}}')],
    }
    log = DeliveryLog.memory()
    with HttpReceiver(lambda req: answers[req.json()["to"]].pop(0)) as r:
        transport = WhatsAppTransport(phone_number_id="1", base_url=r.url)
        messages = [
            outgoing("whatsapp", 1, "1555", {"template": "t"}),
            outgoing("whatsapp", 2, "1666", {"template": "t"}),
        ]
        asyncio.run(deliver(messages, transport, log=log, retry=FAST))
    rows = log.con.execute(
        "SELECT identity, state, attempts, response_code, reason FROM deliveries ORDER BY 1"
    )
    assert rows.fetchall() == [
        ("user-1", "sent", 2, 200, None),
        (
            "user-2",
            "dead",
            1,
            400,
            'HTTP 400: {"error": {"code": 132001, "message": "Template name does not exist"}}',
        ),
    ]


def test_fcm_messages(monkeypatch: pytest.MonkeyPatch, fcm_validator: jsonschema.Draft7Validator) -> None:
    monkeypatch.setenv("FCM_ACCESS_TOKEN", "ya29.secret")
    fields = {
        "title": "15,000 steps! 🎉",
        "body": "Way to go, Asha.",
        "deep_link": "fitapp://progress/2026-11-20",
        "image_url": "https://cdn.fitapp.example/badges/steps.png",
    }
    log = DeliveryLog.memory()
    with HttpReceiver(lambda _: Answer(200, b'{"name": "projects/fit-app/messages/1"}')) as r:
        transport = FcmTransport(project_id="fit-app", base_url=r.url)
        m = outgoing("push", 1, "device-token-abc", fields)
        asyncio.run(deliver([m], transport, log=log, retry=FAST))
    [got] = r.requests
    assert (got.method, got.path) == ("POST", "/v1/projects/fit-app/messages:send")
    assert got.headers["authorization"] == "Bearer ya29.secret"
    assert got.json() == {
        "message": {
            "token": "device-token-abc",
            "notification": {
                "title": "15,000 steps! 🎉",
                "body": "Way to go, Asha.",
                "image": "https://cdn.fitapp.example/badges/steps.png",
            },
            "data": {
                "campaign_id": "1750575722",
                "idempotency_key": m.key,
                "deep_link": "fitapp://progress/2026-11-20",
            },
        }
    }
    fcm_validator.validate(got.json())
    with pytest.raises(jsonschema.ValidationError, match="'titel' was unexpected"):
        fcm_validator.validate({"message": {"token": "t", "notification": {"titel": "x"}}})
    assert log.counts()["sent"] == 1


def test_fcm_unregistered_token_is_dead_and_a_bad_access_token_stops_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FCM_ACCESS_TOKEN", "ya29.secret")
    log = DeliveryLog.memory()
    fields = {"title": "t", "body": "b"}
    with HttpReceiver(lambda _: Answer(404, b'{"error": {"status": "NOT_FOUND"}}')) as r:
        transport = FcmTransport(project_id="p", base_url=r.url)
        asyncio.run(
            deliver(
                [outgoing("push", 1, "gone", fields), outgoing("push", 2, None, fields)], transport, log=log
            )
        )
    rows = log.con.execute("SELECT identity, state, reason FROM deliveries ORDER BY 1").fetchall()
    assert rows == [
        ("user-1", "dead", 'HTTP 404: {"error": {"status": "NOT_FOUND"}}'),
        ("user-2", "dead", "no device token for this recipient"),
    ]
    with HttpReceiver(lambda _: Answer(401, b'{"error": {"status": "UNAUTHENTICATED"}}')) as r:
        transport = FcmTransport(project_id="p", base_url=r.url)
        with pytest.raises(SendError, match="FCM refused the credentials: HTTP 401"):
            asyncio.run(deliver([outgoing("push", 3, "tok", fields)], transport, log=DeliveryLog.memory()))


def test_provider_requests_are_declared_json_and_carry_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAPP_TOKEN", "wa-token")
    monkeypatch.setenv("FCM_ACCESS_TOKEN", "fcm-token")
    wa = outgoing("whatsapp", 1, "919876543210", {"template": "hello_world"})
    push = outgoing("push", 2, "device-token-abc", {"title": "t", "body": "b"})
    log = DeliveryLog.memory()
    with HttpReceiver(lambda _: Answer(200, b"{}")) as r:
        whatsapp = WhatsAppTransport(phone_number_id="1", base_url=r.url)
        fcm = FcmTransport(project_id="p", base_url=r.url)
        asyncio.run(deliver([wa], whatsapp, log=log, retry=FAST))
        asyncio.run(deliver([push], fcm, log=log, retry=FAST))
    assert [(q.path, q.headers["content-type"], q.headers["idempotency-key"]) for q in r.requests] == [
        ("/1/messages", "application/json", wa.key),
        ("/v1/projects/p/messages:send", "application/json", push.key),
    ]
    assert log.counts()["sent"] == 2
