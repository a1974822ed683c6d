//! Recommendations (issue 6; original spec §7): age, gender and purchase history in, products
//! out, each with a short reason.
//!
//! This module serves the model of the `truffle-reco` crate (`crates/truffle-reco`: the model,
//! its parts and the dense solver, with no web or database): `GET /v1/me/recommendations`
//! ranks, from memory, the products with an open or scheduled raffle; a worker retrains the
//! model from the database on a schedule. Its offline evaluation on MovieLens is the `reco-eval`
//! tool (`crates/reco-eval`).
//!
//! - [`service`]: the worker and the request path; [`signals`]: the model's input read through
//!   each domain's functions; [`store`]: product views, the one table this module owns.
//!
//! `docs/RECOMMENDATIONS.md` has the design, the measured tables and what is not done yet.

pub mod routes;
pub mod service;
pub mod signals;
pub mod store;

pub use service::Recommendations;

/// Deletes what recommendations keep of a user (their product views), inside the account
/// deletion's transaction.
pub async fn forget(
    tx: &mut sqlx::PgConnection,
    user: uuid::Uuid,
) -> Result<(), crate::http::ApiError> {
    Ok(store::forget(&mut *tx, user).await?)
}
