//! What ends across domains: a person leaving, a product revoked. Each is composed here, above
//! the domains, from the step every domain offers for it, so that no domain calls up into
//! another (the layers are in `docs/ARCHITECTURE.md`).
//!
//! - [`erasure`]: account deletion (회원탈퇴).
//! - [`revocation`]: a product revoked as counterfeit, reaching its raffles and orders.
//! - [`routes`]: the two handlers that start them.

pub mod erasure;
pub mod revocation;
pub mod routes;
