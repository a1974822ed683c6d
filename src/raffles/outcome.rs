//! An entry's outcome in the draw: none before it, then won, alternate or lost.
//!
//! ```text
//! (none) ──draw, within the winners──▶ won
//!    │
//!    ├──draw, after the winners──▶ alternate ──a winner did not pay: first alternate moves up──▶ won
//!    │
//!    └──draw──▶ lost
//! ```
//!
//! `won` and `lost` are final. The database holds the same names, with a CHECK listing them, and
//! NULL for an entry not drawn yet.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum EntryOutcome {
    /// Drawn among the winners, or an alternate who moved up: the entrant has an order.
    Won,
    /// Drawn after the winners: in order (`position`), moves up if a winner does not pay.
    Alternate,
    Lost,
}

impl EntryOutcome {
    pub const ALL: [EntryOutcome; 3] = [Self::Won, Self::Alternate, Self::Lost];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Won => "won",
            Self::Alternate => "alternate",
            Self::Lost => "lost",
        }
    }

    /// The one list of allowed moves; `None` is an entry not drawn yet.
    pub fn may_become(from: Option<EntryOutcome>, next: EntryOutcome) -> bool {
        use EntryOutcome::*;
        match from {
            None => matches!(next, Won | Alternate | Lost),
            Some(Alternate) => matches!(next, Won),
            Some(Won | Lost) => false,
        }
    }

    /// Ended: the outcome does not change any more.
    pub fn is_final(self) -> bool {
        Self::ALL
            .iter()
            .all(|next| !Self::may_become(Some(self), *next))
    }

    /// The guard of the UPDATEs that move entries to `next`: whether an entry not drawn yet may
    /// become it, and the outcomes that may.
    pub fn sources(next: EntryOutcome) -> (bool, Vec<&'static str>) {
        let drawn = Self::ALL
            .into_iter()
            .filter(|s| Self::may_become(Some(*s), next))
            .map(Self::as_str)
            .collect();
        (Self::may_become(None, next), drawn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_outcomes_are_won_and_lost() {
        let finals: Vec<_> = EntryOutcome::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, [EntryOutcome::Won, EntryOutcome::Lost]);
    }

    #[test]
    fn the_draw_decides_and_only_an_alternate_moves_up() {
        for s in EntryOutcome::ALL {
            assert!(EntryOutcome::may_become(None, s), "{s:?}");
        }
        assert_eq!(
            EntryOutcome::sources(EntryOutcome::Won),
            (true, vec!["alternate"])
        );
        assert_eq!(
            EntryOutcome::sources(EntryOutcome::Alternate),
            (true, vec![])
        );
        assert_eq!(EntryOutcome::sources(EntryOutcome::Lost), (true, vec![]));
    }

    #[test]
    fn names_match_the_database_and_the_wire() {
        let schema = include_str!("../../migrations/20261121000004_raffles.up.sql");
        for s in EntryOutcome::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert!(schema.contains(&format!("'{}'", s.as_str())), "{s:?}");
        }
    }
}
