//! ozg-registry: the system of record for OZG implementation projects, participation and reuse
//! (Nachnutzung), with a GraphQL API on embedded SQLite or PostgreSQL.

pub mod auth;
pub mod domain;
pub mod error;
pub mod federation;
pub mod generate;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod newsletter;
pub mod seed;
pub mod service;
pub mod settings;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
