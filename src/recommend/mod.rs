//! Recommendations (product description §7, `docs/PRODUCT.md`): age, gender and purchase history in, products
//! out, each with a short reason.
//!
//! This module owns the model, its offline evaluation (`truffle reco-eval`) and serving it:
//! `GET /v1/me/recommendations` ranks, from memory, the products with an open or scheduled
//! raffle; a worker retrains the model from the database on a schedule.
//!
//! - [`service`]: the worker and the request path; [`signals`]: the model's input read through
//!   each domain's functions (product views are the catalogue's table, read here).
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
pub mod routes;
pub mod service;
pub mod signals;

pub use cli::{RecoEvalArgs, SplitName, reco_eval};
pub use service::Recommendations;
