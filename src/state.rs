//! What the domains' state machines share. Each machine is a Rust enum stored as text (a CHECK
//! lists its names) and declared to [`state_machine!`] once: its names, and the one function
//! that says which moves are allowed. The macro writes the rest the same way for every machine:
//! the list of states, the names, which states are final and the guard of an UPDATE.

/// Writes a state enum's `ALL`, `as_str` and, given its moves, `may_become`, `is_final` and
/// `sources`:
///
/// ```ignore
/// state_machine! {
///     RefundStatus { Pending = "pending", Done = "done", Failed = "failed" }
///     moves(from, next) { from == RefundStatus::Pending && next != RefundStatus::Pending }
/// }
/// ```
///
/// `as_str` matches every variant, so a state left out of the list does not compile. Without
/// `moves` the enum only gets its names (a kind, not a machine).
macro_rules! state_machine {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every state, in the order the docs list them.
            pub const ALL: [$ty; [$($name),+].len()] = [$(Self::$variant),+];

            /// The name the database and the wire use.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }
        }
    };
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }
     moves($from:ident, $next:ident) $moves:block) => {
        $crate::state::state_machine!($ty { $($variant = $name),+ });

        impl $ty {
            /// The one list of allowed moves.
            pub fn may_become(self, $next: $ty) -> bool {
                let $from = self;
                $moves
            }

            /// Ended: no move leads to another state.
            pub fn is_final(self) -> bool {
                Self::ALL
                    .iter()
                    .all(|next| *next == self || !self.may_become(*next))
            }

            /// The states that may become `next`: the guard of an UPDATE that moves a row there.
            pub fn sources(next: $ty) -> Vec<&'static str> {
                Self::ALL
                    .into_iter()
                    .filter(|s| s.may_become(next))
                    .map(Self::as_str)
                    .collect()
            }
        }
    };
}

pub(crate) use state_machine;

#[cfg(test)]
mod tests {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Light {
        Red,
        Green,
        Broken,
    }

    state_machine! {
        Light { Red = "red", Green = "green", Broken = "broken" }
        moves(from, next) {
            use Light::*;
            match from {
                Red => matches!(next, Green | Broken),
                Green => matches!(next, Red | Broken),
                Broken => false,
            }
        }
    }

    #[test]
    fn the_macro_lists_names_finals_and_sources() {
        assert_eq!(Light::ALL, [Light::Red, Light::Green, Light::Broken]);
        assert_eq!(Light::Green.as_str(), "green");
        let finals: Vec<_> = Light::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [Light::Broken]);
        assert_eq!(Light::sources(Light::Broken), ["red", "green"]);
        assert_eq!(Light::sources(Light::Red), ["green"]);
    }
}
