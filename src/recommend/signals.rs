//! The model's input, read from the marketplace: each domain's store gives its part (catalogue:
//! brand, category and price; accounts: birth date and gender; orders: purchases; raffles:
//! entries; catalogue: product views), and [`assemble`] turns them into a
//! [`TrainingData`] on dense indices with the [`Catalog`] that maps them back to ids.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::Demographic;
use crate::catalogue::ProductFacts;
use crate::orders::Holding;
use crate::raffles::ProductEntry;
use truffle_reco::data::{
    Demographics, Feature, FeatureIdx, FeatureKind, Gender, Interaction, ItemIdx, Signal,
    TrainingData,
};

/// Everything training reads, as the domains return it.
#[derive(Debug, Default)]
pub struct Signals {
    pub products: Vec<ProductFacts>,
    pub people: Vec<Demographic>,
    pub holdings: Vec<Holding>,
    pub entries: Vec<ProductEntry>,
    /// (user, product) viewed within the window.
    pub views: Vec<(Uuid, Uuid)>,
}

impl Signals {
    /// Reads every signal; views from `views_since` on.
    pub async fn load(db: &PgPool, views_since: NaiveDate) -> sqlx::Result<Signals> {
        Ok(Signals {
            products: crate::catalogue::product_facts(db, None).await?,
            people: crate::accounts::demographics(db, None).await?,
            holdings: crate::orders::holdings(db, None).await?,
            entries: crate::raffles::product_entries(db, None).await?,
            views: crate::catalogue::store::views(db, None, views_since).await?,
        })
    }
}

/// A product as the served model knows it.
#[derive(Debug, Clone)]
pub struct ItemInfo {
    pub id: Uuid,
    pub name: String,
}

/// Dense item indices ↔ product ids, and the feature dictionary (brand, category, price band).
#[derive(Debug, Default)]
pub struct Catalog {
    pub items: Vec<ItemInfo>,
    index: HashMap<Uuid, ItemIdx>,
    pub features: Vec<Feature>,
    feature_index: HashMap<(FeatureKind, String), FeatureIdx>,
}

impl Catalog {
    pub fn item(&self, id: &Uuid) -> Option<ItemIdx> {
        self.index.get(id).copied()
    }

    /// The features of a product the model was not trained on that the model knows (a brand
    /// first seen after training has none).
    pub fn known_features(&self, product: &ProductFacts) -> Vec<FeatureIdx> {
        product_features(product)
            .into_iter()
            .filter_map(|(kind, key, _)| self.feature_index.get(&(kind, key)).copied())
            .collect()
    }

    fn intern(&mut self, kind: FeatureKind, key: String, name: String) -> FeatureIdx {
        let next = self.features.len() as FeatureIdx;
        *self.feature_index.entry((kind, key)).or_insert_with(|| {
            self.features.push(Feature { kind, name });
            next
        })
    }
}

/// Upper bounds (exclusive, in won) of the price bands, and their names.
const PRICE_BANDS: [(i64, &str); 5] = [
    (100_000, "under ₩100,000"),
    (300_000, "₩100,000–300,000"),
    (1_000_000, "₩300,000–1,000,000"),
    (3_000_000, "₩1,000,000–3,000,000"),
    (i64::MAX, "₩3,000,000 and over"),
];

/// The price band of a retail price in won.
pub fn price_band(krw: i64) -> &'static str {
    PRICE_BANDS
        .iter()
        .find(|(below, _)| krw < *below)
        .map_or(PRICE_BANDS[4].1, |(_, name)| name)
}

/// A product's features as (kind, key, display name): brand and category compare without case
/// or surrounding space ("Nike" and "nike " are one brand).
fn product_features(p: &ProductFacts) -> [(FeatureKind, String, String); 3] {
    let band = price_band(p.retail_price_krw);
    [
        (
            FeatureKind::Brand,
            p.brand.trim().to_lowercase(),
            p.brand.trim().to_owned(),
        ),
        (
            FeatureKind::Category,
            p.category.trim().to_lowercase(),
            p.category.trim().to_owned(),
        ),
        (FeatureKind::PriceBand, band.to_owned(), band.to_owned()),
    ]
}

/// Age in whole years on `today`.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> u8 {
    let mut years = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.clamp(0, 120) as u8
}

/// A person's demographics on `today`.
pub fn demographics(person: &Demographic, today: NaiveDate) -> Demographics {
    Demographics {
        age: person.birth_date.map(|b| age_on(b, today)),
        gender: person.gender.as_deref().and_then(gender),
    }
}

/// The model's gender from the account's (the identity provider's words).
fn gender(text: &str) -> Option<Gender> {
    use crate::providers::identity::Gender as Identity;
    Identity::parse(text).map(|g| match g {
        Identity::Male => Gender::Male,
        Identity::Female => Gender::Female,
        Identity::Other => Gender::Other,
    })
}

/// One person's history from their own signals, one entry per item (its strongest signal).
/// Products the catalog does not know are left out. Awaiting-payment orders add nothing: the
/// entry that won them is already there.
pub fn history_of(
    catalog: &Catalog,
    holdings: &[Holding],
    entries: &[ProductEntry],
    views: &[(Uuid, Uuid)],
) -> Vec<(ItemIdx, Signal)> {
    let events = signals(holdings, entries, views)
        .filter_map(|(_, product, signal)| catalog.item(&product).map(|i| (i, signal)));
    let interactions: Vec<Interaction> = events
        .map(|(item, signal)| Interaction {
            user: 0,
            item,
            signal,
        })
        .collect();
    truffle_reco::data::Histories::build(1, &interactions)
        .of(0)
        .to_vec()
}

/// Every (user, product, signal) in the signals.
fn signals<'a>(
    holdings: &'a [Holding],
    entries: &'a [ProductEntry],
    views: &'a [(Uuid, Uuid)],
) -> impl Iterator<Item = (Uuid, Uuid, Signal)> + 'a {
    let purchases = holdings
        .iter()
        .filter(|h| h.paid)
        .map(|h| (h.buyer_id, h.product_id, Signal::Purchase));
    let entries = entries
        .iter()
        .map(|e| (e.user_id, e.product_id, Signal::RaffleEntry));
    let views = views.iter().map(|&(u, p)| (u, p, Signal::View));
    purchases.chain(entries).chain(views)
}

/// The training data and its catalog. Every product is an item (fresh listings too: content
/// reaches them); every person with at least one signal is a user, with their age on `today`
/// and gender (unknown for deleted accounts, whose past orders and entries still count).
pub fn assemble(signals_in: Signals, today: NaiveDate) -> (TrainingData, Catalog) {
    let Signals {
        products,
        people,
        holdings,
        entries,
        views,
    } = signals_in;
    let mut catalog = Catalog::default();
    let mut item_features = Vec::with_capacity(products.len());
    for p in &products {
        let idx = catalog.items.len() as ItemIdx;
        catalog.index.insert(p.id, idx);
        catalog.items.push(ItemInfo {
            id: p.id,
            name: p.name.clone(),
        });
        let features = product_features(p)
            .into_iter()
            .map(|(kind, key, name)| catalog.intern(kind, key, name))
            .collect();
        item_features.push(features);
    }
    let who: HashMap<Uuid, &Demographic> = people.iter().map(|p| (p.user_id, p)).collect();
    let mut user_index: HashMap<Uuid, u32> = HashMap::new();
    let mut users = Vec::new();
    let mut interactions = Vec::new();
    for (user, product, signal) in signals(&holdings, &entries, &views) {
        let Some(item) = catalog.item(&product) else {
            continue;
        };
        let u = *user_index.entry(user).or_insert_with(|| {
            users.push(
                who.get(&user)
                    .map_or(Demographics::default(), |p| demographics(p, today)),
            );
            (users.len() - 1) as u32
        });
        interactions.push(Interaction {
            user: u,
            item,
            signal,
        });
    }
    (
        TrainingData {
            users,
            features: catalog.features.clone(),
            item_features,
            interactions,
        },
        catalog,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(brand: &str, category: &str, krw: i64) -> ProductFacts {
        ProductFacts {
            id: Uuid::now_v7(),
            seller_id: Uuid::nil(),
            name: format!("{brand} {category}"),
            brand: brand.into(),
            category: category.into(),
            retail_price_krw: krw,
        }
    }

    #[test]
    fn ages_turn_on_the_birthday() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(age_on(d(2000, 11, 21), d(2026, 11, 20)), 25);
        assert_eq!(age_on(d(2000, 11, 21), d(2026, 11, 21)), 26);
        assert_eq!(age_on(d(2030, 1, 1), d(2026, 11, 21)), 0, "never negative");
    }

    #[test]
    fn price_bands_cover_every_price() {
        assert_eq!(price_band(0), "under ₩100,000");
        assert_eq!(price_band(99_999), "under ₩100,000");
        assert_eq!(price_band(100_000), "₩100,000–300,000");
        assert_eq!(price_band(2_999_999), "₩1,000,000–3,000,000");
        assert_eq!(price_band(i64::MAX), "₩3,000,000 and over");
    }

    #[test]
    fn signals_become_training_data_on_dense_indices() {
        let a = product("Nike", "sneakers", 139_000);
        let b = product("nike ", "Sneakers", 2_500_000);
        let c = product("Rolex", "watches", 15_000_000);
        let (buyer, viewer, gone) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let female_1999 = Demographic {
            user_id: buyer,
            birth_date: NaiveDate::from_ymd_opt(1999, 3, 1),
            gender: Some("female".into()),
        };
        let quiet = Demographic {
            user_id: Uuid::now_v7(),
            birth_date: None,
            gender: None,
        };
        let holding = |buyer_id, product_id, paid| Holding {
            buyer_id,
            product_id,
            paid,
        };
        let signals = Signals {
            products: vec![a.clone(), b.clone(), c.clone()],
            people: vec![female_1999, quiet],
            holdings: vec![
                holding(buyer, a.id, true),
                holding(buyer, c.id, false), // won, not paid: not a purchase
                holding(gone, c.id, true),   // a deleted account's order still counts
            ],
            entries: vec![ProductEntry {
                user_id: buyer,
                raffle_id: Uuid::now_v7(),
                product_id: a.id,
            }],
            views: vec![(viewer, b.id), (viewer, Uuid::now_v7())],
        };
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let (data, catalog) = assemble(signals, today);
        assert_eq!(data.n_items(), 3);
        // Nike and "nike " are one brand, sneakers one category; three price bands.
        let names: Vec<&str> = data.features.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Nike",
                "sneakers",
                "₩100,000–300,000",
                "₩1,000,000–3,000,000",
                "Rolex",
                "watches",
                "₩3,000,000 and over"
            ]
        );
        assert_eq!(data.item_features[0][..2], data.item_features[1][..2]);
        // Users: the buyer, the deleted account, the viewer; the person with no signal is not one.
        assert_eq!(data.n_users(), 3);
        assert_eq!(data.users[0].age, Some(27));
        assert_eq!(data.users[0].gender, Some(Gender::Female));
        assert_eq!(data.users[1], Demographics::default());
        let histories = data.histories();
        assert_eq!(
            histories.of(0),
            &[(0, Signal::Purchase)],
            "purchase beats entry"
        );
        assert_eq!(histories.of(1), &[(2, Signal::Purchase)]);
        assert_eq!(
            histories.of(2),
            &[(1, Signal::View)],
            "unknown product left out"
        );

        // A product listed after training: its brand is known, its category is not.
        let fresh = product("NIKE", "hoodies", 120_000);
        let known = catalog.known_features(&fresh);
        assert_eq!(known, vec![0, 2]);
        let history = history_of(
            &catalog,
            &[holding(viewer, b.id, true)],
            &[],
            &[(viewer, b.id)],
        );
        assert_eq!(history, vec![(1, Signal::Purchase)]);
    }
}
