//! The recommender core: buyers, items and signals on dense indices in, ranked items with a
//! reason out. No web, no database, no async: the service (`truffle`, `src/recommend/`) reads
//! its signals from PostgreSQL and serves the model; `reco-eval` measures it on MovieLens.
//!
//! - [`data`]: buyers, items, features and signals (purchase, raffle entry, view) on dense
//!   indices.
//! - [`model`]: the Truffle model — EASE over K candidate items, content similarity, a
//!   demographic prior, blended by how much history a buyer has, with a [`model::Reason`] per
//!   item — and the [`model::Recommender`] trait every model implements.
//! - [`content`], [`prior`], [`linalg`]: the parts and the dense solver.
//!
//! `docs/RECOMMENDATIONS.md` has the design, the measured tables and what is not done yet.

pub mod content;
pub mod data;
pub mod linalg;
pub mod model;
pub mod prior;
