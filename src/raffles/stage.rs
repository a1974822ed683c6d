//! The raffle's stored stage: where its life on chain has got to. The public state a buyer sees
//! (`RaffleState`) follows from the stage and the clock ([`super::state_at`]).
//!
//! ```text
//! committing ──commit mined──▶ committed ──closing time: list frozen──▶ closing ──close mined──▶ closed
//!     │                            │                                        │                      │
//!     └──── admin cancel, revocation ──▶ cancelled          no tickets ──▶ empty     reveal ──▶ drawn ◀──▶ settled
//!                                                                                  window missed ──▶ void
//! ```
//!
//! `cancelled`, `void` and `empty` are final. A stage may also be written again unchanged, to
//! record a transaction it sent (a commit, a close, a reveal) or the seed it publishes.

use serde::{Deserialize, Serialize};

use crate::state::state_machine;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RaffleStage {
    /// Created; the commitment is being sent.
    Committing,
    /// The commitment (seed hash, closing time, winners) is on chain.
    Committed,
    /// Past its closing time: the ticket list is frozen, the close is being sent.
    Closing,
    /// The close (ticket root and count) is on chain; the seed is to be revealed.
    Closed,
    /// Revealed and drawn: winners and alternates stored, every winner has an order.
    Drawn,
    /// Every winning order is paid or given up.
    Settled,
    Cancelled,
    /// The seed was not revealed within 256 blocks of closing.
    Void,
    /// Closed with no entries.
    Empty,
}

state_machine! {
    RaffleStage {
        Committing = "committing",
        Committed = "committed",
        Closing = "closing",
        Closed = "closed",
        Drawn = "drawn",
        Settled = "settled",
        Cancelled = "cancelled",
        Void = "void",
        Empty = "empty",
    }
    // Writing a stage again unchanged is always allowed.
    moves(from, next) {
        use RaffleStage::*;
        next == from
            || match from {
                Committing => matches!(next, Committed | Cancelled),
                Committed => matches!(next, Closing | Cancelled),
                Closing => matches!(next, Closed | Empty),
                Closed => matches!(next, Drawn | Void),
                Drawn => matches!(next, Settled),
                Settled => matches!(next, Drawn),
                Cancelled | Void | Empty => false,
            }
    }
}

impl RaffleStage {
    /// The search index's code for the stage (0 is "no raffle"). Stored in the index: never
    /// renumber.
    pub fn index_code(self) -> u64 {
        match self {
            Self::Committing => 1,
            Self::Committed => 2,
            Self::Closing => 3,
            Self::Closed => 4,
            Self::Drawn => 5,
            Self::Settled => 6,
            Self::Cancelled => 7,
            Self::Void => 8,
            Self::Empty => 9,
        }
    }

    pub fn from_index_code(code: u64) -> Option<RaffleStage> {
        Self::ALL.into_iter().find(|s| s.index_code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_stages_are_cancelled_void_and_empty() {
        let finals: Vec<_> = RaffleStage::ALL
            .into_iter()
            .filter(|s| RaffleStage::ALL.iter().all(|n| n == s || !s.may_become(*n)))
            .collect();
        assert_eq!(
            finals,
            [
                RaffleStage::Cancelled,
                RaffleStage::Void,
                RaffleStage::Empty
            ]
        );
    }

    #[test]
    fn only_raffles_not_yet_closing_can_be_cancelled_and_only_closed_ones_drawn() {
        let mut cancellable = RaffleStage::sources(RaffleStage::Cancelled);
        cancellable.sort();
        assert_eq!(cancellable, ["cancelled", "committed", "committing"]);
        assert_eq!(
            RaffleStage::sources(RaffleStage::Drawn),
            ["closed", "drawn", "settled"]
        );
    }

    #[test]
    fn codes_are_distinct_and_names_match_the_database() {
        let schema = include_str!("../../migrations/20261121000004_raffles.up.sql");
        for s in RaffleStage::ALL {
            assert_eq!(RaffleStage::from_index_code(s.index_code()), Some(s));
            assert!(schema.contains(&format!("'{}'", s.as_str())), "{s:?}");
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(RaffleStage::from_index_code(0), None);
    }
}
