//! What the models read: buyers with their age and gender, items with their features, and
//! interactions (purchases, raffle entries, views), all on dense indices.
//!
//! Serving builds the same [`TrainingData`] from PostgreSQL (dense indices mapped to ids in a
//! table of its own); the offline evaluation builds it from MovieLens files.

/// A buyer's gender as the models read it (the service maps its own identity type onto it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    Male,
    Female,
    Other,
}

/// An item's dense index (0-based).
pub type ItemIdx = u32;
/// A feature's dense index (0-based), into [`TrainingData::features`].
pub type FeatureIdx = u32;

/// What a buyer did with an item, weakest first. The model's input weight comes from the
/// strongest signal per (buyer, item); repeating a signal adds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signal {
    /// Opened the product page.
    View,
    /// Entered a raffle for the product.
    RaffleEntry,
    /// Bought it (a paid order). Every MovieLens rating is read as a purchase.
    Purchase,
}

impl Signal {
    /// The interaction weight in the model's input (a purchase is 1). Not tuned: MovieLens has
    /// purchases only; tune them once the marketplace has real entries and views.
    pub const fn weight(self) -> f32 {
        match self {
            Signal::Purchase => 1.0,
            Signal::RaffleEntry => 0.5,
            Signal::View => 0.2,
        }
    }
}

/// Age bands of the segments: under 20, 20s, 30s, 40s, 50 and over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgeBand {
    Under20,
    Twenties,
    Thirties,
    Forties,
    FiftyPlus,
}

impl AgeBand {
    pub const ALL: [AgeBand; 5] = [
        AgeBand::Under20,
        AgeBand::Twenties,
        AgeBand::Thirties,
        AgeBand::Forties,
        AgeBand::FiftyPlus,
    ];

    pub fn of(age: u8) -> AgeBand {
        match age {
            0..=19 => AgeBand::Under20,
            20..=29 => AgeBand::Twenties,
            30..=39 => AgeBand::Thirties,
            40..=49 => AgeBand::Forties,
            _ => AgeBand::FiftyPlus,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            AgeBand::Under20 => "under 20",
            AgeBand::Twenties => "in their 20s",
            AgeBand::Thirties => "in their 30s",
            AgeBand::Forties => "in their 40s",
            AgeBand::FiftyPlus => "aged 50 and over",
        }
    }
}

/// Age and gender, from the verified identity. Either may be unknown (an account verified
/// before the provider returned them, or MovieLens data without them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Demographics {
    pub age: Option<u8>,
    pub gender: Option<Gender>,
}

impl Demographics {
    pub fn segment(self) -> Segment {
        Segment {
            band: self.age.map(AgeBand::of),
            gender: self.gender,
        }
    }
}

/// A demographic segment: age band × gender, each possibly unknown (6 × 4 = 24 segments, of
/// which the 10 with a known band and a known female or male gender are the usual ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub band: Option<AgeBand>,
    pub gender: Option<Gender>,
}

impl Segment {
    pub const COUNT: usize = 6 * 4;

    /// Dense index in `0..Segment::COUNT`.
    pub fn index(self) -> usize {
        let band = self.band.map_or(5, |b| {
            AgeBand::ALL.iter().position(|x| *x == b).unwrap_or(5)
        });
        let gender = match self.gender {
            Some(Gender::Female) => 0,
            Some(Gender::Male) => 1,
            Some(Gender::Other) => 2,
            None => 3,
        };
        band * 4 + gender
    }

    /// "women in their 20s", "men aged 50 and over", "people under 20", "women"; `None` when
    /// neither age nor gender is known.
    pub fn describe(self) -> Option<String> {
        let who = match self.gender {
            Some(Gender::Female) => "women",
            Some(Gender::Male) => "men",
            Some(Gender::Other) | None => "people",
        };
        match (self.band, self.gender) {
            (None, None) => None,
            (None, Some(_)) => Some(who.to_owned()),
            (Some(band), _) => Some(format!("{who} {}", band.describe())),
        }
    }
}

/// What an item feature is. Truffle's products have a brand, a category and a price band;
/// MovieLens films have genres and a release decade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureKind {
    Brand,
    Category,
    PriceBand,
    Genre,
    Decade,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    pub kind: FeatureKind,
    pub name: String,
}

/// One (buyer, item, signal) event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interaction {
    pub user: u32,
    pub item: ItemIdx,
    pub signal: Signal,
}

/// Everything training reads. Users and items are dense indices into `users` and
/// `item_features`; an item with no interactions is still an item (fresh listings).
#[derive(Debug, Clone, Default)]
pub struct TrainingData {
    pub users: Vec<Demographics>,
    pub features: Vec<Feature>,
    /// Per item, the features it has (indices into `features`).
    pub item_features: Vec<Vec<FeatureIdx>>,
    pub interactions: Vec<Interaction>,
}

impl TrainingData {
    pub fn n_users(&self) -> usize {
        self.users.len()
    }

    pub fn n_items(&self) -> usize {
        self.item_features.len()
    }

    /// Every user's history: one entry per item, its strongest signal, sorted by item.
    pub fn histories(&self) -> Histories {
        Histories::build(self.n_users(), &self.interactions)
    }
}

/// Per-user histories in one flat array (compressed rows).
#[derive(Debug, Clone)]
pub struct Histories {
    offsets: Vec<usize>,
    entries: Vec<(ItemIdx, Signal)>,
}

impl Histories {
    pub fn build(n_users: usize, interactions: &[Interaction]) -> Histories {
        let mut sorted: Vec<Interaction> = interactions
            .iter()
            .copied()
            .filter(|i| (i.user as usize) < n_users)
            .collect();
        sorted.sort_unstable_by_key(|i| (i.user, i.item, std::cmp::Reverse(i.signal)));
        let mut offsets = Vec::with_capacity(n_users + 1);
        let mut entries: Vec<(ItemIdx, Signal)> = Vec::with_capacity(sorted.len());
        let mut at = 0;
        for user in 0..n_users as u32 {
            offsets.push(entries.len());
            let mut last = None;
            while at < sorted.len() && sorted[at].user == user {
                let i = sorted[at];
                // The first of a run of the same item is its strongest signal.
                if last != Some(i.item) {
                    entries.push((i.item, i.signal));
                    last = Some(i.item);
                }
                at += 1;
            }
        }
        offsets.push(entries.len());
        Histories { offsets, entries }
    }

    pub fn n_users(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn of(&self, user: usize) -> &[(ItemIdx, Signal)] {
        &self.entries[self.offsets[user]..self.offsets[user + 1]]
    }

    pub fn iter(&self) -> impl Iterator<Item = &[(ItemIdx, Signal)]> {
        (0..self.n_users()).map(|u| self.of(u))
    }
}

/// One buyer as a model sees them when recommending: demographics and a history with one entry
/// per item (its strongest signal), as [`Histories`] builds it. A cold buyer has an empty
/// history.
#[derive(Debug, Clone, Copy)]
pub struct UserQuery<'a> {
    pub demographics: Demographics,
    pub history: &'a [(ItemIdx, Signal)],
}

impl UserQuery<'_> {
    /// The total weight of the history (the number of purchases on MovieLens).
    pub fn history_weight(&self) -> f32 {
        self.history.iter().map(|(_, s)| s.weight()).sum()
    }
}

/// Per item, the summed weight of its interactions: how "interacted" it is.
pub fn weighted_counts(n_items: usize, histories: &Histories) -> Vec<f64> {
    let mut counts = vec![0.0; n_items];
    for history in histories.iter() {
        for &(item, signal) in history {
            counts[item as usize] += f64::from(signal.weight());
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histories_keep_the_strongest_signal_once() {
        let i = |user, item, signal| Interaction { user, item, signal };
        let h = Histories::build(
            3,
            &[
                i(1, 5, Signal::View),
                i(1, 5, Signal::Purchase),
                i(1, 2, Signal::RaffleEntry),
                i(1, 5, Signal::View),
                i(0, 7, Signal::View),
                i(9, 1, Signal::Purchase), // an unknown user is ignored
            ],
        );
        assert_eq!(h.of(0), &[(7, Signal::View)]);
        assert_eq!(h.of(1), &[(2, Signal::RaffleEntry), (5, Signal::Purchase)]);
        assert!(h.of(2).is_empty());
    }

    #[test]
    fn segments_are_dense_and_described() {
        let mut seen = std::collections::HashSet::new();
        for band in AgeBand::ALL.map(Some).into_iter().chain([None]) {
            for gender in [
                Some(Gender::Female),
                Some(Gender::Male),
                Some(Gender::Other),
                None,
            ] {
                let i = Segment { band, gender }.index();
                assert!(i < Segment::COUNT);
                assert!(seen.insert(i));
            }
        }
        let d = Demographics {
            age: Some(24),
            gender: Some(Gender::Female),
        };
        assert_eq!(
            d.segment().describe().as_deref(),
            Some("women in their 20s")
        );
        assert_eq!(AgeBand::of(19), AgeBand::Under20);
        assert_eq!(AgeBand::of(50), AgeBand::FiftyPlus);
        assert_eq!(Demographics::default().segment().describe(), None);
    }
}
