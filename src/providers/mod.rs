//! Clients for outside services. Each is a trait with a real HTTP client for one named provider
//! and a `dev` implementation for local runs; tests drive the real clients against local stubs.

pub mod identity;
pub mod payments;
