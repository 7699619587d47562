// Reads sniffer's launches from its NATS JetStream stream and prints each as a JSON line.
//
//     node consumer.js [--url nats://127.0.0.1:4222] [--stream SNIFFER] [--count N]
//
// Every message is one launch record (docs/launch-record.schema.json). The consumer refuses a
// record whose version it does not know (exit 3) rather than guess at its fields. Big integers
// (creator_buy_lamports, creator_buy_tokens, received_unix_ns) are decimal strings, because
// JSON.parse rounds numbers above 2^53: read them with BigInt(). An ordered consumer of the
// whole stream, so every run prints the stream from its start.
import { connect } from "nats";

const RECORD_VERSION = 1;

/** A version-1 launch record (the schema's fields; all but a few are optional). */
interface LaunchRecord {
  v: number;
  kind: string;
  launchpad?: string;
  mint?: string;
  creator?: string;
  signature?: string;
  slot: number;
  market?: string;
  market_token_account?: string;
  market_quote_account?: string;
  quote_mint?: string;
  config?: string;
  platform_config?: string;
  source_curve?: string;
  token_program?: "token" | "token2022";
  quote_token_program?: "token" | "token2022";
  creator_buy_lamports: string;
  creator_buy_tokens: string;
  name?: string;
  symbol?: string;
  uri?: string;
  feed?: string;
  received_unix_ms?: number;
  received_unix_ns?: string;
  score: number;
  priority: "high" | "low";
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

class VersionError extends Error {}

/** The record, checked: its version, and the receive time's two forms agreeing. */
function check(record: LaunchRecord): LaunchRecord {
  if (record.v !== RECORD_VERSION) {
    throw new VersionError(`launch record version ${record.v}: this consumer reads v1`);
  }
  if (record.received_unix_ns !== undefined) {
    const ms = BigInt(record.received_unix_ns) / 1_000_000n;
    if (ms !== BigInt(record.received_unix_ms ?? -1)) {
      throw new VersionError(`received_unix_ms does not match received_unix_ns`);
    }
  }
  return record;
}

async function main(): Promise<void> {
  const url = arg("url", "nats://127.0.0.1:4222");
  const stream = arg("stream", "SNIFFER");
  const count = Number(arg("count", "0"));
  const nc = await connect({ servers: url });
  const js = nc.jetstream();
  // No consumer name: an ordered consumer of the whole stream from its start (its subjects
  // are sniffer.launch.<kind>.<priority>), created and recreated by the client. (Options here
  // need nats-server 2.10: the defaults work from 2.9.)
  const consumer = await js.consumers.get(stream);
  const messages = await consumer.consume();
  let seen = 0;
  try {
    for await (const m of messages) {
      const record = check(m.json<LaunchRecord>());
      process.stdout.write(JSON.stringify(record) + "\n");
      seen += 1;
      if (count > 0 && seen >= count) {
        break;
      }
    }
  } finally {
    await nc.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(e instanceof VersionError ? 3 : 1);
});
