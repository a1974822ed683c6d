//! Recommendations (issue 6; original spec §7): age, gender and purchase history in, products
//! out, each with a short reason.
//!
//! This module owns the model and its offline evaluation (`truffle reco-eval`); serving it from
//! the database comes next and uses [`model::TruffleModel`] unchanged: build a
//! [`data::TrainingData`] from the tables, train on the CPU pool, ask with a
//! [`data::UserQuery`].
//!
//! - [`data`]: buyers, items, features and signals (purchase, raffle entry, view) on dense
//!   indices.
//! - [`model`]: the Truffle model — EASE over K candidate items, content similarity, a
//!   demographic prior, blended by how much history a buyer has, with a [`model::Reason`] per
//!   item.
//! - [`models`]: the baselines (popularity, segment popularity, item-kNN, EASE).
//! - [`content`], [`prior`], [`linalg`]: the parts and the dense solver.
//! - [`eval`] and [`movielens`]: the protocol, and MovieLens 100K fetched from PyPI, checked
//!   and cached.
//!
//! `docs/RECOMMENDATIONS.md` has the design, the measured tables and what is not done yet.

mod cli;
pub mod content;
pub mod data;
pub mod eval;
pub mod linalg;
pub mod model;
pub mod models;
pub mod movielens;
pub mod prior;

pub use cli::{RecoEvalArgs, SplitName, reco_eval};
