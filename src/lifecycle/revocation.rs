//! A product revoked as counterfeit, composed above the domains: the catalogue marks it (and
//! queues the revocation for the chain), raffles not yet closing are cancelled, orders are
//! cancelled or refunded, and everyone concerned is told, in one transaction.

use uuid::Uuid;

use crate::catalogue::Catalogue;
use crate::http::ApiError;
use crate::orders::{self, Orders};
use crate::raffles;

/// Revokes a product and everything sold under it. `not_found`, or `already_revoked`.
pub async fn revoke(
    catalogue: &Catalogue,
    orders: &Orders,
    id: Uuid,
    reason: &str,
) -> Result<(), ApiError> {
    let mut tx = catalogue.db.begin().await?;
    catalogue.revoke_in(&mut tx, id, reason).await?;
    // Raffles not closed are cancelled (on chain too, by the draw worker); orders are cancelled
    // or refunded; buyers and entrants are told.
    raffles::cancel_for_revoked_product(&mut tx, id, reason).await?;
    orders::end_for_revoked_product(&mut tx, id, reason).await?;
    tx.commit().await?;
    // Refunds for the product's paid orders go to the provider now (the order clock retries).
    orders.send_due_refunds().await?;
    Ok(())
}
