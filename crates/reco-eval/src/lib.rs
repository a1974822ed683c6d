//! The offline evaluation of the recommender (`truffle-reco`): MovieLens 100K fetched, checked
//! and cached ([`movielens`]), the protocol and its tables ([`eval`]) and the baselines the
//! Truffle model is measured against ([`baselines`]). The `reco-eval` binary prints the tables;
//! `docs/RECOMMENDATIONS.md` has the protocol and the measured results.

pub mod baselines;
pub mod eval;
pub mod movielens;
