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

impl BatchStatus {
    pub const ALL: [BatchStatus; 4] = [Self::Built, Self::Sent, Self::Mined, Self::Confirmed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Built => "built",
            Self::Sent => "sent",
            Self::Mined => "mined",
            Self::Confirmed => "confirmed",
        }
    }

    /// The one list of allowed moves.
    pub fn may_become(self, next: BatchStatus) -> bool {
        use BatchStatus::*;
        match self {
            Built => matches!(next, Sent | Mined),
            Sent => matches!(next, Sent | Mined),
            Mined => matches!(next, Confirmed),
            Confirmed => false,
        }
    }

    /// The states that may become `next`: the guard of the UPDATEs that move a batch.
    pub fn sources(next: BatchStatus) -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|s| s.may_become(next))
            .map(Self::as_str)
            .collect()
    }

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

impl RevocationStatus {
    pub const ALL: [RevocationStatus; 4] =
        [Self::Pending, Self::Sent, Self::Mined, Self::Confirmed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Mined => "mined",
            Self::Confirmed => "confirmed",
        }
    }

    /// The one list of allowed moves.
    pub fn may_become(self, next: RevocationStatus) -> bool {
        use RevocationStatus::*;
        match self {
            Pending => matches!(next, Sent | Mined),
            Sent => matches!(next, Sent | Mined),
            Mined => matches!(next, Confirmed),
            Confirmed => false,
        }
    }

    /// The states that may become `next`: the guard of the UPDATE that moves a revocation.
    pub fn sources(next: RevocationStatus) -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|s| s.may_become(next))
            .map(Self::as_str)
            .collect()
    }

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
