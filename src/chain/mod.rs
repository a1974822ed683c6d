//! The chain, as infrastructure: contract bindings and an RPC client, a generic anchoring outbox
//! and its worker (hashes in, proofs out; it knows nothing of products or raffles), and
//! verification of proof bundles, which needs no database.

pub mod client;
pub mod outbox;
pub mod status;
pub mod verify;
pub mod worker;

pub use client::{ChainClient, TruffleRegistry, deploy_registry};
