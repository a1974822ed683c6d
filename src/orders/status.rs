//! The order's state machine: its states, and the one function that says which moves are allowed.
//!
//! ```text
//! awaiting_payment ──pay──▶ paid ──ship──▶ shipped ──receive──▶ received
//!   │   │                    │
//!   │   └─admin cancel,      └─refund, admin cancel, revocation──▶ refunding ──provider──▶ refunded
//!   │     revocation──▶ cancelled          (the provider's own CANCELED also goes straight to refunded)
//!   └─deadline passed──▶ expired
//! ```
//!
//! `expired`, `refunded` and `cancelled` are final. The database holds the same names, with a
//! CHECK listing them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::state::state_machine;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Won, not paid yet; due by `pay_by`.
    AwaitingPayment,
    Paid,
    Shipped,
    Received,
    /// Not paid in time: the piece went to the next alternate.
    Expired,
    /// A refund was asked of the payment provider and has not come back yet.
    Refunding,
    Refunded,
    /// Ended unpaid by an admin or a revocation.
    Cancelled,
}

state_machine! {
    OrderStatus {
        AwaitingPayment = "awaiting_payment",
        Paid = "paid",
        Shipped = "shipped",
        Received = "received",
        Expired = "expired",
        Refunding = "refunding",
        Refunded = "refunded",
        Cancelled = "cancelled",
    }
    moves(from, next) {
        use OrderStatus::*;
        match from {
            AwaitingPayment => matches!(next, Paid | Expired | Cancelled),
            Paid => matches!(next, Shipped | Refunding | Refunded),
            Shipped => matches!(next, Received),
            Refunding => matches!(next, Refunded),
            Received | Expired | Refunded | Cancelled => false,
        }
    }
}

impl OrderStatus {
    /// Paid and kept (the buyer's purchases): what recommendations and holdings count.
    pub fn holds_the_piece(self) -> bool {
        matches!(self, Self::Paid | Self::Shipped | Self::Received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_states_are_exactly_received_expired_refunded_and_cancelled() {
        let finals: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            [
                OrderStatus::Received,
                OrderStatus::Expired,
                OrderStatus::Refunded,
                OrderStatus::Cancelled
            ]
        );
    }

    #[test]
    fn nothing_goes_back_to_awaiting_payment_and_nothing_is_paid_twice() {
        for s in OrderStatus::ALL {
            assert!(!s.may_become(OrderStatus::AwaitingPayment), "{s:?}");
            assert_eq!(
                s.may_become(OrderStatus::Paid),
                s == OrderStatus::AwaitingPayment,
                "{s:?}"
            );
        }
        assert!(!OrderStatus::Shipped.may_become(OrderStatus::Refunding));
    }

    #[test]
    fn names_match_the_database_and_the_wire() {
        for s in OrderStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        let migration = include_str!("../../migrations/20261202010500_payments_fail_closed.up.sql");
        for s in OrderStatus::ALL {
            assert!(migration.contains(&format!("'{}'", s.as_str())), "{s:?}");
        }
    }
}
