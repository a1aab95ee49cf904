//! The integration tests: one binary (linking the server once instead of
//! once per file), a module per product area, each talking to real servers
//! over real HTTP on every configured backend (SQLite, and PostgreSQL when
//! `PAYLINKS_TEST_POSTGRES_URL` is set).
//!
//! Kept apart, each for a reason written at its top: `tests/observe.rs`
//! (installs the process's log subscriber and reads process-wide metrics),
//! `tests/hardening.rs` (measures time), `tests/crash.rs` and
//! `tests/soak.rs` (`make soak` runs them long), `tests/bench_tools.rs`
//! (the benchmark's own code).

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod authorization;
mod bad_input;
mod db;
mod email;
mod http;
mod komoju;
mod links;
mod payments;
mod properties;
mod rest_api;
mod scale_out;
mod secrecy;
mod transactions;
mod webhooks;
