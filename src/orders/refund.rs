//! A refund asked of the payment provider: what it pays back, and its state machine.
//!
//! ```text
//! pending ──provider cancelled the payment (or had already)──▶ done
//!  │  ▲
//!  │  └──provider unreachable: the order clock tries again later (stays pending)
//!  └──provider refused, or has no such payment──▶ failed   (the order is flagged refund_failed)
//! ```
//!
//! `done` and `failed` are final: a failed refund is not retried, an admin looks at the order.
//! The database holds the same names, with a CHECK listing them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::state::state_machine;

/// What a refund pays back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RefundKind {
    /// The order's own payment goes back; the order ends `refunded`.
    Refund,
    /// A payment that does not count for the order (too late, or a second one) goes back; the
    /// order is left as it is.
    LatePayment,
}

state_machine!(RefundKind {
    Refund = "refund",
    LatePayment = "late_payment",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Recorded, not answered by the provider yet; due again at `next_try_at`.
    Pending,
    /// The money is back.
    Done,
    /// The provider refused for good.
    Failed,
}

state_machine! {
    RefundStatus { Pending = "pending", Done = "done", Failed = "failed" }
    moves(from, next) {
        use RefundStatus::*;
        match from {
            Pending => matches!(next, Done | Failed),
            Done | Failed => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_states_are_done_and_failed() {
        let finals: Vec<_> = RefundStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, [RefundStatus::Done, RefundStatus::Failed]);
    }

    #[test]
    fn only_a_pending_refund_ends() {
        assert_eq!(RefundStatus::sources(RefundStatus::Done), ["pending"]);
        assert_eq!(RefundStatus::sources(RefundStatus::Failed), ["pending"]);
        assert!(RefundStatus::sources(RefundStatus::Pending).is_empty());
    }

    #[test]
    fn names_match_the_database_and_the_wire() {
        let migration = include_str!("../../migrations/20261202010500_payments_fail_closed.up.sql");
        for s in RefundStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert!(migration.contains(&format!("'{}'", s.as_str())), "{s:?}");
        }
        for k in RefundKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert!(migration.contains(&format!("'{}'", k.as_str())), "{k:?}");
        }
    }
}
