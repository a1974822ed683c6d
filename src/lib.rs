//! Truffle (Trust + Raffle): the backend of a limited-edition marketplace whose products are
//! anchored on an EVM chain and whose raffles anyone can re-run.
//!
//! Layers, top to bottom (see `docs/ARCHITECTURE.md`): the CLI in `main.rs`; [`router`] and
//! [`app`]; the domains ([`accounts`], …); infrastructure ([`http`], [`db`], [`config`],
//! [`providers`], [`ratelimit`], [`cpu`], [`metrics`]).

pub mod accounts;
pub mod ads;
pub mod app;
pub mod catalogue;
pub mod chain;
pub mod chat;
pub mod config;
pub mod cpu;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod http;
pub mod kakao;
pub mod lifecycle;
pub mod metrics;
pub mod notify;
pub mod ops;
pub mod orders;
pub mod periodic;
pub mod protocol;
pub mod providers;
pub mod raffles;
pub mod ratelimit;
pub mod recommend;
pub mod router;
pub mod sealing;
pub mod search;
pub mod state;
pub mod units;
pub mod web;

#[cfg(test)]
mod layers;
