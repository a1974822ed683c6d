//! The anchoring outbox's two state machines: a batch of hashes on its way into a block, and a
//! revocation on its way to the chain. Each has its states and the one function that says which
//! moves are allowed; every UPDATE that moves a row only moves it from a state that may become the
//! new one.
//!
//! ```text
//! built ──send──▶ sent ──root found in a block──▶ mined ──enough blocks on top──▶ confirmed
//!   │              ▲ │                              ▲
//!   │              └─┘ resent after a while         │
//!   └──────────── root already found in a block ────┘
//!
//! pending ──send──▶ sent ──revocation found in a block──▶ mined ──enough blocks on top──▶ confirmed
//!   │                ▲ │                                   ▲
//!   │                └─┘ resent after a while              │
//!   └──────────── revocation already found in a block ─────┘
//! ```
//!
//! `confirmed` is final for both. The database holds the same names, with a CHECK listing them.

use super::outbox::AnchorState;
use crate::state::state_machine;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum BatchStatus {
    /// The root is computed; nothing sent.
    Built,
    /// The anchoring transaction is sent.
    Sent,
    /// The root is in a block (`block_number`).
    Mined,
    /// Enough blocks on top of the anchoring block.
    Confirmed,
}

state_machine! {
    BatchStatus { Built = "built", Sent = "sent", Mined = "mined", Confirmed = "confirmed" }
    moves(from, next) {
        use BatchStatus::*;
        match from {
            Built => matches!(next, Sent | Mined),
            Sent => matches!(next, Sent | Mined),
            Mined => matches!(next, Confirmed),
            Confirmed => false,
        }
    }
}

impl BatchStatus {
    /// Where a hash in a batch in this state stands.
    pub fn anchor_state(self) -> AnchorState {
        match self {
            Self::Built | Self::Sent => AnchorState::Pending,
            Self::Mined => AnchorState::Anchored,
            Self::Confirmed => AnchorState::Confirmed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RevocationStatus {
    /// Asked for; nothing sent.
    Pending,
    /// The revoking transaction is sent.
    Sent,
    /// The revocation is in a block (`block_number`).
    Mined,
    /// Enough blocks on top of the revoking block.
    Confirmed,
}

state_machine! {
    RevocationStatus { Pending = "pending", Sent = "sent", Mined = "mined", Confirmed = "confirmed" }
    moves(from, next) {
        use RevocationStatus::*;
        match from {
            Pending => matches!(next, Sent | Mined),
            Sent => matches!(next, Sent | Mined),
            Mined => matches!(next, Confirmed),
            Confirmed => false,
        }
    }
}

impl RevocationStatus {
    /// Where a revocation in this state stands, in the words of an anchoring.
    pub fn anchor_state(self) -> AnchorState {
        match self {
            Self::Pending | Self::Sent => AnchorState::Pending,
            Self::Mined => AnchorState::Anchored,
            Self::Confirmed => AnchorState::Confirmed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_confirmed_is_final_and_nothing_goes_back() {
        for s in BatchStatus::ALL {
            let is_final = BatchStatus::ALL.iter().all(|n| !s.may_become(*n));
            assert_eq!(is_final, s == BatchStatus::Confirmed, "{s:?}");
            assert!(!s.may_become(BatchStatus::Built), "{s:?}");
        }
        for s in RevocationStatus::ALL {
            let is_final = RevocationStatus::ALL.iter().all(|n| !s.may_become(*n));
            assert_eq!(is_final, s == RevocationStatus::Confirmed, "{s:?}");
            assert!(!s.may_become(RevocationStatus::Pending), "{s:?}");
        }
        assert_eq!(BatchStatus::sources(BatchStatus::Confirmed), ["mined"]);
        assert_eq!(BatchStatus::sources(BatchStatus::Mined), ["built", "sent"]);
        assert_eq!(
            RevocationStatus::sources(RevocationStatus::Sent),
            ["pending", "sent"]
        );
    }

    #[test]
    fn names_match_the_database() {
        let schema = include_str!("../../migrations/20261121000002_chain.up.sql");
        let batches = schema.split("CREATE TABLE anchor_items").next().unwrap();
        for s in BatchStatus::ALL {
            assert!(batches.contains(&format!("'{}'", s.as_str())), "{s:?}");
        }
        let revocations = schema
            .split("CREATE TABLE chain_revocations")
            .nth(1)
            .unwrap();
        for s in RevocationStatus::ALL {
            assert!(revocations.contains(&format!("'{}'", s.as_str())), "{s:?}");
        }
    }
}
