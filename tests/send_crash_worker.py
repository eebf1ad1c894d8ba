"""Run by tests/test_send_resume.py in a subprocess that gets SIGKILLed: deliver N webhook messages.

Usage: python tests/send_crash_worker.py WORKSPACE URL N
"""

from __future__ import annotations

import asyncio
import sys

from triggerlab.delivery import DeliveryLog, OutgoingMessage, WebhookTransport, deliver, idempotency_key
from triggerlab.workspace import Workspace

#: the loop's batching, also the bound the test puts on repeats per kill
BATCH_SIZE = 200


def messages(url: str, count: int) -> list[OutgoingMessage]:
    return [
        OutgoingMessage(
            key=idempotency_key("1750575723", f"r{n}", 0, f"user-{n}"),
            channel="webhook",
            campaign_id="1750575723",
            identity=f"user-{n}",
            fields={"url": f"{url}/hook", "body": f'{{"n": {n}}}'},
            request_id=f"r{n}",
        )
        for n in range(count)
    ]


def main(workspace: str, url: str, count: int) -> None:
    with Workspace(workspace) as ws:
        log = DeliveryLog(ws.con)
        transport = WebhookTransport(allow_networks=["127.0.0.0/8"])
        summary = asyncio.run(
            deliver(
                messages(url, count),
                transport,
                log=log,
                concurrency=8,
                batch_size=BATCH_SIZE,
                flush_interval=0.05,
            )
        )
    print(summary.as_dict())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
