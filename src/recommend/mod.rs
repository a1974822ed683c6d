//! Recommendations (product description §7, `docs/PRODUCT.md`): age, gender and purchase history in, products
//! out, each with a short reason.
//!
//! This module serves the model of the `truffle-reco` crate (`crates/truffle-reco`: the model,
//! its parts and the dense solver, with no web or database): `GET /v1/me/recommendations`
//! ranks, from memory, the products with an open or scheduled raffle; a worker retrains the
//! model from the database on a schedule. Its offline evaluation on MovieLens is the `reco-eval`
//! tool (`crates/reco-eval`).
//!
//! - [`service`]: the worker and the request path; [`signals`]: the model's input read through
//!   each domain's functions (product views are the catalogue's table, read here).
//!
//! `docs/RECOMMENDATIONS.md` has the design, the measured tables and what is not done yet.

pub mod routes;
pub mod service;
pub mod signals;

pub use service::Recommendations;

/// What can go wrong serving recommendations. The HTTP boundary (`routes.rs`) gives each its code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The CPU pool's queue is full.
    #[error(transparent)]
    Overloaded(#[from] crate::cpu::Overloaded),
    /// Reading the picks' products failed.
    #[error(transparent)]
    Catalogue(#[from] crate::catalogue::Error),
    /// Reading the picks' raffles failed.
    #[error(transparent)]
    Raffles(#[from] crate::raffles::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}
