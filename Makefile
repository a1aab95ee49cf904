# The two commands of the README: `make run` and `make test`. Both run the
# (idempotent) setup first, so they work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV := source scripts/env.sh

.PHONY: help setup build run demo test test-rust test-e2e bench soak wasm-size clean

help:
	@echo "make run    build (release) and serve on http://127.0.0.1:3000 with SQLite in ./data"
	@echo "make demo   the same, with a demo merchant and reviewer (credentials printed)"
	@echo "make test   every test: Rust unit + integration (SQLite, and PostgreSQL if configured) and Playwright"
	@echo "make bench  every performance budget (SQLite and PostgreSQL), table in target/bench/latest.md"
	@echo "make soak   the long reliability runs: 20 kill -9 rounds and 10 min of mixed traffic per backend (~25 min)"
	@echo "make wasm-size   size of the browser bundle (raw and gzip)"

setup:
	@scripts/setup

build: setup
	@$(ENV) && cargo leptos build --release --split && scripts/finish-site

run: build
	@$(ENV) && exec "$$PAYLINKS_BIN" serve

demo: build
	@$(ENV) && "$$PAYLINKS_BIN" demo && exec "$$PAYLINKS_BIN" serve

test: setup
	@scripts/test

bench: build
	@PAYLINKS_PG_DURABLE=1 scripts/test-postgres scripts/bench

soak: setup
	@mkdir -p target/soak
	@PAYLINKS_CRASH_ROUNDS=20 PAYLINKS_SOAK_SECS=600 PAYLINKS_PG_DURABLE=1 scripts/test-postgres bash -c \
	  'source scripts/env.sh && cargo test --release --no-default-features --features ssr --test crash --test soak -- --nocapture' \
	  2>&1 | tee target/soak/latest.log; exit $${PIPESTATUS[0]}

wasm-size: build
	@scripts/wasm-size

clean:
	cargo clean
	rm -rf target/site end2end/test-results
