"""Reads sniffer's launches from its NATS JetStream stream and prints each as a JSON line.

    python3 consumer.py [--url nats://127.0.0.1:4222] [--stream SNIFFER] [--count N]

Every message is one launch record (docs/launch-record.schema.json). The consumer refuses a
record whose version it does not know (exit 3) rather than guess at its fields; unknown fields
of version 1 are kept and ignored. Big integers (creator_buy_lamports, creator_buy_tokens,
received_unix_ns) are decimal strings: int() reads them exactly. An ordered consumer of the
whole stream (deliver all), so every run prints the stream from its start.
"""

import argparse
import asyncio
import json
import sys

import nats
from nats.js.api import DeliverPolicy

RECORD_VERSION = 1


def check(record):
    """The record, checked: its version, and the receive time's two forms agreeing."""
    if record.get("v") != RECORD_VERSION:
        raise SystemExit(f"launch record version {record.get('v')!r}: this consumer reads v1")
    if "received_unix_ns" in record:
        ns = int(record["received_unix_ns"])
        if ns // 1_000_000 != record["received_unix_ms"]:
            raise SystemExit(f"received_unix_ms does not match received_unix_ns: {record}")
    return record


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="nats://127.0.0.1:4222")
    p.add_argument("--stream", default="SNIFFER")
    p.add_argument("--count", type=int, default=0, help="stop after N launches (0: never)")
    p.add_argument("--timeout", type=float, default=30.0, help="longest wait for one launch")
    args = p.parse_args()

    nc = await nats.connect(args.url)
    js = nc.jetstream()
    sub = await js.subscribe(
        "sniffer.launch.>",
        stream=args.stream,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.ALL,
    )
    seen = 0
    try:
        while args.count == 0 or seen < args.count:
            msg = await sub.next_msg(timeout=args.timeout)
            record = check(json.loads(msg.data))
            print(json.dumps(record, ensure_ascii=False, separators=(",", ":")), flush=True)
            seen += 1
    finally:
        await sub.unsubscribe()
        await nc.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            sys.exit(3)
        raise
