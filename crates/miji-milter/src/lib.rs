//! # miji-milter — miji policy for Postfix and Sendmail
//!
//! A milter (protocol v6) that spools each message, extracts it with [`miji_extract`], scans
//! it with a [`miji::Scanner`] and maps the report's verb onto mail: `allow` → accept,
//! `warn` → tag (internal and inbound mail only), `redact` → hold, `block` → `550 5.7.1`
//! (or hold). Transient failures (panic, deadline, overload) tempfail; deterministic problems
//! follow the policy's `on_error` action. See the README for configuration and Postfix setup.
//!
//! Modules: [`protocol`] (framing), [`config`] (TOML), [`verdict`] (report → outcome),
//! [`server`] (listener, sessions, reload, audit log).
#![deny(missing_docs)]

pub mod config;
pub mod protocol;
pub mod server;
pub mod verdict;

pub use config::{Config, Direction};
pub use server::{Engine, Listen, Listener, Shared, serve};
pub use verdict::Outcome;
