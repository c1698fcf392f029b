//! Acceptance tests through the public interfaces (HTTP GraphQL, CLI), on SQLite and PostgreSQL.

#[macro_use]
mod helpers;

mod auth;
mod browser;
mod catalogue;
mod cli;
mod concurrency;
mod fanout;
mod faults;
mod federation;
mod hardening;
mod http;
mod jobs;
mod logging;
mod newsletter;
mod newsletter_gen;
mod oidc;
mod participation;
mod projects;
mod reuse;
mod roles;
mod scale;
mod web;
