//! The Truffle model, the one serving uses: three parts blended by how much history the buyer
//! has, and for every recommended item the part that drove it, as a [`Reason`].
//!
//! - History: EASE over a candidate set, the K items with the most (weighted) interactions. The
//!   K×K weight matrix is the only dense matrix: 4·K² bytes to serve, 12·K² while training
//!   (`docs/RECOMMENDATIONS.md` has the table). Over 100,000 products a full matrix would be
//!   40 GB; at K = 5,000 it is 100 MB.
//! - Content: the cosine between the item's features and the buyer's history
//!   ([`crate::content`]); for items outside the candidates (the long tail and fresh listings,
//!   which have no interactions) it also stands in for the history part, at a quarter weight.
//! - Prior: kernel-smoothed popularity over age and gender ([`crate::prior`]).
//!
//! Each part is scaled to a maximum of 1 over the items outside the buyer's history, then
//!
//! ```text
//! a     = n0 / (n0 + n)             n: the history's total weight, n0 = 2
//! score = (1 − a)·history + c·content + a·prior                      (candidates)
//! score = ((1 − a)·κ + c)·content + a·prior                          (other items)
//! ```
//!
//! with c = 0.15 and κ = 0.25. A buyer with no history gets the prior alone; with two purchases
//! history and prior weigh the same; from ten on the prior's share is under 17%. The constants
//! were chosen once on MovieLens ub, never on ua.

use crate::content::{self, ContentModel};
use crate::data::{
    Feature, FeatureIdx, FeatureKind, ItemIdx, Segment, Signal, TrainingData, UserQuery,
    weighted_counts,
};
use crate::linalg::{self, NotPositiveDefinite};
use crate::prior::{DemographicPrior, PriorParams};

/// A trained model that scores items for a buyer: the Truffle model here, and the baselines it
/// is measured against in `reco-eval`.
pub trait Recommender: Send + Sync {
    /// Scores every item for `user` into `scores` (one slot per item; higher is better).
    /// Filtering (what the buyer already has, what cannot be bought) is the caller's job.
    fn score(&self, user: &UserQuery<'_>, scores: &mut [f32]);
}

/// K when none is given: covers all of MovieLens 100K; 100 MB of weights to serve.
pub const DEFAULT_CANDIDATES: usize = 5_000;
/// EASE's L2 regularisation, for the baseline and the history part alike. Chosen on ub from
/// 100–1,000 (the ub NDCG@10 plateau runs from 350 to 450), then fixed.
pub const EASE_LAMBDA: f64 = 400.0;

const NOT_A_CANDIDATE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruffleParams {
    /// K: how many of the most interacted items the history part covers.
    pub candidates: usize,
    /// EASE's λ.
    pub lambda: f64,
    /// n0: the history weight at which history and prior are blended half and half.
    pub prior_half_life: f32,
    /// c: the content part's weight.
    pub content_weight: f32,
    /// κ: how much of the history part's weight content takes over outside the candidates.
    pub fresh_content_weight: f32,
    pub prior: PriorParams,
}

impl Default for TruffleParams {
    fn default() -> Self {
        TruffleParams {
            candidates: DEFAULT_CANDIDATES,
            lambda: EASE_LAMBDA,
            prior_half_life: 2.0,
            content_weight: 0.15,
            fresh_content_weight: 0.25,
            prior: PriorParams::default(),
        }
    }
}

/// Why an item was recommended: the part that added most to its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// "because you bought …": the history item that adds most to this item's score.
    BecauseOf { item: ItemIdx, signal: Signal },
    /// "from a brand you buy": the item's feature closest to the buyer's history.
    SharesFeature {
        feature: FeatureIdx,
        kind: FeatureKind,
    },
    /// "popular with women in their 20s".
    PopularWith(Segment),
    /// Popular overall: nothing is known about the buyer.
    Popular,
}

impl Reason {
    /// English text, for the evaluation's examples; the API renders its own. `item_name` names
    /// an item, `features` names features.
    pub fn describe(&self, item_name: impl Fn(ItemIdx) -> String, features: &[Feature]) -> String {
        match *self {
            Reason::BecauseOf { item, signal } => {
                let verb = match signal {
                    Signal::Purchase => "bought",
                    Signal::RaffleEntry => "entered the raffle for",
                    Signal::View => "looked at",
                };
                format!("because you {verb} {}", item_name(item))
            }
            Reason::SharesFeature { feature, kind } => {
                let name = features
                    .get(feature as usize)
                    .map_or("?", |f| f.name.as_str());
                match kind {
                    FeatureKind::Brand => format!("from a brand you buy ({name})"),
                    FeatureKind::Category => format!("in a category you buy ({name})"),
                    FeatureKind::PriceBand => format!("in a price band you buy ({name})"),
                    FeatureKind::Genre => format!("in a genre you like ({name})"),
                    FeatureKind::Decade => format!("from a decade you like ({name})"),
                }
            }
            Reason::PopularWith(segment) => match segment.describe() {
                Some(who) => format!("popular with {who}"),
                None => "popular".to_owned(),
            },
            Reason::Popular => "popular".to_owned(),
        }
    }

    /// Which of the three parts this reason comes from.
    pub fn part(&self) -> Part {
        match self {
            Reason::BecauseOf { .. } => Part::History,
            Reason::SharesFeature { .. } => Part::Content,
            Reason::PopularWith(_) | Reason::Popular => Part::Prior,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    History,
    Content,
    Prior,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recommendation {
    pub item: ItemIdx,
    pub score: f32,
    pub reason: Reason,
}

/// Memory of a trained model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelMemory {
    /// K.
    pub candidates: usize,
    /// Held while serving: the K×K weights, the content vectors, the prior's lists.
    pub serving_bytes: usize,
    /// The most held at once while training (the `f64` K×K system plus the `f32` weights).
    pub training_peak_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct TruffleModel {
    n_items: usize,
    /// Slot → item.
    candidates: Vec<ItemIdx>,
    /// Item → slot, or NOT_A_CANDIDATE.
    slot_of: Vec<u32>,
    /// EASE weights over the slots, K×K row-major.
    ease: Vec<f32>,
    content: ContentModel,
    feature_kinds: Vec<FeatureKind>,
    prior: DemographicPrior,
    params: TruffleParams,
}

/// The three parts for one buyer, each scaled to a maximum of 1 outside their history.
struct Parts {
    history: Vec<f32>,
    content: Vec<f32>,
    prior: Vec<f32>,
    /// a: the prior's share.
    prior_share: f32,
    profile: Vec<f32>,
}

impl TruffleModel {
    /// Trains every part. CPU-bound (seconds at K = 5,000): run it on the CPU pool, never on
    /// the async runtime.
    pub fn train(
        data: &TrainingData,
        params: TruffleParams,
    ) -> Result<TruffleModel, NotPositiveDefinite> {
        let n_items = data.n_items();
        let histories = data.histories();
        let counts = weighted_counts(n_items, &histories);
        let mut ranked: Vec<ItemIdx> = (0..n_items as ItemIdx)
            .filter(|&i| counts[i as usize] > 0.0)
            .collect();
        ranked.sort_by(|&a, &b| {
            counts[b as usize]
                .total_cmp(&counts[a as usize])
                .then(a.cmp(&b))
        });
        ranked.truncate(params.candidates);
        let candidates = ranked;
        let mut slot_of = vec![NOT_A_CANDIDATE; n_items];
        for (slot, &item) in candidates.iter().enumerate() {
            slot_of[item as usize] = slot as u32;
        }
        let k = candidates.len();
        let rows: Vec<Vec<(u32, f64)>> = histories
            .iter()
            .map(|h| {
                h.iter()
                    .filter(|(i, _)| slot_of[*i as usize] != NOT_A_CANDIDATE)
                    .map(|&(i, s)| (slot_of[i as usize], f64::from(s.weight())))
                    .collect()
            })
            .collect();
        let ease = linalg::ease_weights(linalg::gram(&rows, k), k, params.lambda)?;
        drop(rows);
        let content = ContentModel::train(&data.item_features, data.features.len());
        let prior = DemographicPrior::train(&data.users, &histories, n_items, params.prior);
        Ok(TruffleModel {
            n_items,
            candidates,
            slot_of,
            ease,
            content,
            feature_kinds: data.features.iter().map(|f| f.kind).collect(),
            prior,
            params,
        })
    }

    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// The items the history part covers, most interacted first.
    pub fn candidates(&self) -> &[ItemIdx] {
        &self.candidates
    }

    pub fn params(&self) -> &TruffleParams {
        &self.params
    }

    pub fn memory(&self) -> ModelMemory {
        let k = self.candidates.len();
        let slots = (self.candidates.len() + self.slot_of.len()) * size_of::<u32>();
        ModelMemory {
            candidates: k,
            serving_bytes: self.ease.len() * size_of::<f32>()
                + slots
                + self.content.memory_bytes()
                + self.prior.memory_bytes(),
            training_peak_bytes: training_peak_bytes(k),
        }
    }

    /// The parts for `user`; `fresh` are items the model was not trained on (given by their
    /// content vectors), scored by content only, at indices `n_items..`.
    fn parts(&self, user: &UserQuery<'_>, fresh: &[Vec<(FeatureIdx, f32)>]) -> Parts {
        let n = self.n_items;
        let k = self.candidates.len();
        let mut history = vec![0.0f32; n];
        if !user.history.is_empty() {
            let mut by_slot = vec![0.0f32; k];
            for &(item, signal) in user.history {
                let slot = self.slot_of[item as usize];
                if slot == NOT_A_CANDIDATE {
                    continue;
                }
                let row = &self.ease[slot as usize * k..(slot as usize + 1) * k];
                let w = signal.weight();
                for (s, b) in by_slot.iter_mut().zip(row) {
                    *s += w * b;
                }
            }
            for (slot, &item) in self.candidates.iter().enumerate() {
                history[item as usize] = by_slot[slot];
            }
        }
        let profile = self.content.profile(user.history);
        let mut content = vec![0.0f32; n + fresh.len()];
        self.content.score_into(&profile, &mut content[..n]);
        for (slot, vector) in content[n..].iter_mut().zip(fresh) {
            *slot = content::cosine(&profile, vector);
        }
        let mut prior = vec![0.0f32; n];
        self.prior.score_into(user.demographics, &mut prior);

        let mut owned = vec![false; n + fresh.len()];
        for &(item, _) in user.history {
            owned[item as usize] = true;
        }
        for part in [&mut history, &mut content, &mut prior] {
            let max = part
                .iter()
                .zip(&owned)
                .filter(|(_, o)| !**o)
                .map(|(s, _)| *s)
                .fold(0.0f32, f32::max);
            if max > 0.0 {
                part.iter_mut().for_each(|s| *s /= max);
            } else {
                part.fill(0.0);
            }
        }
        let n0 = self.params.prior_half_life;
        Parts {
            history,
            content,
            prior,
            prior_share: n0 / (n0 + user.history_weight()),
            profile,
        }
    }

    /// What each part adds to `item`'s score: history, content, prior.
    fn contributions(&self, parts: &Parts, item: ItemIdx) -> [f32; 3] {
        let j = item as usize;
        let a = parts.prior_share;
        let c = self.params.content_weight;
        if j >= self.n_items {
            // Fresh: nobody has interacted with it, so content alone speaks for it.
            let kappa = self.params.fresh_content_weight;
            return [0.0, ((1.0 - a) * kappa + c) * parts.content[j], 0.0];
        }
        let prior = a * parts.prior[j];
        if self.slot_of[j] == NOT_A_CANDIDATE {
            let kappa = self.params.fresh_content_weight;
            [0.0, ((1.0 - a) * kappa + c) * parts.content[j], prior]
        } else {
            [(1.0 - a) * parts.history[j], c * parts.content[j], prior]
        }
    }

    /// The best `n` items for `user` among those `allow` accepts, never one in their history,
    /// each with its reason.
    pub fn recommend(
        &self,
        user: &UserQuery<'_>,
        n: usize,
        allow: impl Fn(ItemIdx) -> bool,
    ) -> Vec<Recommendation> {
        self.recommend_with_fresh(user, n, allow, &[], true)
    }

    /// As [`TruffleModel::recommend`], also ranking `fresh` items the model was not trained on
    /// (listed since), each given by its features: fresh item `i` comes back as item
    /// `n_items() + i`. Content alone scores them, as it does items outside the candidates.
    /// With `exclude_history` false, items in the history are ranked too (serving: a product
    /// looked at, or entered in an earlier raffle, can still be acted on).
    pub fn recommend_with_fresh(
        &self,
        user: &UserQuery<'_>,
        n: usize,
        allow: impl Fn(ItemIdx) -> bool,
        fresh: &[Vec<FeatureIdx>],
        exclude_history: bool,
    ) -> Vec<Recommendation> {
        let fresh: Vec<Vec<(FeatureIdx, f32)>> =
            fresh.iter().map(|f| self.content.vector(f)).collect();
        let parts = self.parts(user, &fresh);
        let mut owned = vec![false; self.n_items];
        if exclude_history {
            for &(item, _) in user.history {
                owned[item as usize] = true;
            }
        }
        let known = (0..self.n_items as ItemIdx).filter(|&i| !owned[i as usize] && allow(i));
        let new = (0..fresh.len()).map(|i| (self.n_items + i) as ItemIdx);
        let mut scored: Vec<(ItemIdx, f32)> = known
            .chain(new)
            .map(|i| (i, self.contributions(&parts, i).iter().sum()))
            .collect();
        let best = |a: &(ItemIdx, f32), b: &(ItemIdx, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if scored.len() > n {
            scored.select_nth_unstable_by(n, best);
            scored.truncate(n);
        }
        scored.sort_unstable_by(best);
        scored
            .into_iter()
            .map(|(item, score)| Recommendation {
                item,
                score,
                reason: self.reason(user, &parts, &fresh, item),
            })
            .collect()
    }

    fn reason(
        &self,
        user: &UserQuery<'_>,
        parts: &Parts,
        fresh: &[Vec<(FeatureIdx, f32)>],
        item: ItemIdx,
    ) -> Reason {
        let [history, content, prior] = self.contributions(parts, item);
        if history > 0.0 && history >= content && history >= prior {
            let k = self.candidates.len();
            let target = self.slot_of[item as usize] as usize;
            let because = user
                .history
                .iter()
                .filter(|(i, _)| self.slot_of[*i as usize] != NOT_A_CANDIDATE)
                .map(|&(i, s)| {
                    let slot = self.slot_of[i as usize] as usize;
                    (i, s, s.weight() * self.ease[slot * k + target])
                })
                .max_by(|a, b| a.2.total_cmp(&b.2).then(b.0.cmp(&a.0)));
            if let Some((item, signal, _)) = because {
                return Reason::BecauseOf { item, signal };
            }
        }
        if content > 0.0
            && content >= prior
            && let Some(feature) = match (item as usize).checked_sub(self.n_items) {
                Some(i) => content::strongest(&parts.profile, &fresh[i]),
                None => self.content.strongest_feature(&parts.profile, item),
            }
        {
            return Reason::SharesFeature {
                feature,
                kind: self.feature_kinds[feature as usize],
            };
        }
        let segment = user.demographics.segment();
        if segment.describe().is_some() {
            Reason::PopularWith(segment)
        } else {
            Reason::Popular
        }
    }
}

impl Recommender for TruffleModel {
    fn score(&self, user: &UserQuery<'_>, scores: &mut [f32]) {
        let parts = self.parts(user, &[]);
        for (item, s) in scores.iter_mut().enumerate() {
            *s = self.contributions(&parts, item as ItemIdx).iter().sum();
        }
    }
}

/// Bytes held at once while training the history part over K candidates: the `f64` K×K
/// system, factorised and inverted in place, and the `f32` K×K weights made from it.
pub fn training_peak_bytes(k: usize) -> usize {
    k * k * (size_of::<f64>() + size_of::<f32>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Demographics, Gender, Interaction};

    const BRAND_A: FeatureIdx = 0;
    const BRAND_B: FeatureIdx = 1;
    const N_ITEMS: usize = 11;

    fn person(age: u8, gender: Gender) -> Demographics {
        Demographics {
            age: Some(age),
            gender: Some(gender),
        }
    }

    /// Eleven products, all in one category. Brand A: 0–3, each bought by 12 women of 20–25,
    /// and 4, just listed and never bought. Brand B: 5–8, bought by 10 men of 40–47 (5 also by
    /// 4 more men), and 9, bought by two of them. 10 has no brand, bought by 5 of the men.
    fn marketplace() -> TrainingData {
        let feature = |kind, name: &str| Feature {
            kind,
            name: name.into(),
        };
        let features = vec![
            feature(FeatureKind::Brand, "A"),
            feature(FeatureKind::Brand, "B"),
            feature(FeatureKind::Category, "sneakers"),
        ];
        let item_features = (0..N_ITEMS)
            .map(|i| match i {
                0..=4 => vec![BRAND_A, 2],
                5..=9 => vec![BRAND_B, 2],
                _ => vec![2],
            })
            .collect();
        let mut users = Vec::new();
        let mut interactions = Vec::new();
        let mut buyer = |d: Demographics, items: &[ItemIdx]| {
            let user = users.len() as u32;
            users.push(d);
            for &item in items {
                interactions.push(Interaction {
                    user,
                    item,
                    signal: Signal::Purchase,
                });
            }
        };
        for i in 0..12 {
            buyer(person(20 + i % 6, Gender::Female), &[0, 1, 2, 3]);
        }
        for i in 0..10 {
            let items: &[ItemIdx] = match i {
                0..=1 => &[5, 6, 7, 8, 9, 10],
                2..=4 => &[5, 6, 7, 8, 10],
                _ => &[5, 6, 7, 8],
            };
            buyer(person(40 + i % 8, Gender::Male), items);
        }
        for i in 0..4 {
            buyer(person(44 + i, Gender::Male), &[5]);
        }
        TrainingData {
            users,
            features,
            item_features,
            interactions,
        }
    }

    fn train(data: &TrainingData, candidates: usize) -> TruffleModel {
        TruffleModel::train(
            data,
            TruffleParams {
                candidates,
                ..TruffleParams::default()
            },
        )
        .unwrap()
    }

    fn purchases(items: &[ItemIdx]) -> Vec<(ItemIdx, Signal)> {
        items.iter().map(|&i| (i, Signal::Purchase)).collect()
    }

    #[test]
    fn the_history_part_covers_only_the_k_most_interacted_items() {
        let data = marketplace();
        let model = train(&data, 5);
        // Interactions: 5: 14; 0–3: 12; 6–8: 10; 10: 5; 9: 2; 4: none.
        assert_eq!(model.candidates(), &[5, 0, 1, 2, 3]);
        assert_eq!(model.ease.len(), 5 * 5);
        let memory = model.memory();
        assert_eq!(memory.candidates, 5);
        assert_eq!(memory.training_peak_bytes, 25 * 12);
        assert_eq!(training_peak_bytes(5_000), 300_000_000);

        // 9 is outside the candidates: a buyer of brand B still gets it, through the brand.
        let history = purchases(&[5, 6, 7, 8]);
        let user = UserQuery {
            demographics: person(45, Gender::Male),
            history: &history,
        };
        let recs = model.recommend(&user, 3, |_| true);
        assert_eq!(recs[0].item, 9, "{recs:?}");
        let by_brand = Reason::SharesFeature {
            feature: BRAND_B,
            kind: FeatureKind::Brand,
        };
        assert_eq!(recs[0].reason, by_brand);
        // With K covering every bought item, history reaches 9 and 10 itself.
        let full = train(&data, 100);
        assert_eq!(full.candidates().len(), 10);
        let recs = full.recommend(&user, 3, |_| true);
        assert!(
            recs[..2]
                .iter()
                .all(|r| [9, 10].contains(&r.item) && matches!(r.reason, Reason::BecauseOf { .. })),
            "{recs:?}"
        );
    }

    #[test]
    fn a_fresh_item_reaches_a_buyer_through_its_brand() {
        let model = train(&marketplace(), 100);
        let history = purchases(&[0, 1, 2]);
        let user = UserQuery {
            demographics: person(25, Gender::Female),
            history: &history,
        };
        let recs = model.recommend(&user, 3, |_| true);
        assert_eq!(recs[0].item, 3, "{recs:?}");
        assert!(matches!(
            recs[0].reason,
            Reason::BecauseOf {
                item: 0..=2,
                signal: Signal::Purchase
            }
        ));
        assert_eq!(recs[1].item, 4, "the new listing comes next: {recs:?}");
        assert_eq!(
            recs[1].reason,
            Reason::SharesFeature {
                feature: BRAND_A,
                kind: FeatureKind::Brand
            }
        );
        assert!(recs.iter().all(|r| r.item > 2), "never what they bought");
        let text = recs[1]
            .reason
            .describe(|i| format!("#{i}"), &marketplace().features);
        assert_eq!(text, "from a brand you buy (A)");
    }

    #[test]
    fn a_listing_newer_than_the_model_is_ranked_by_its_features() {
        let model = train(&marketplace(), 100);
        let history = purchases(&[5, 6]);
        let user = UserQuery {
            demographics: person(45, Gender::Male),
            history: &history,
        };
        // Two listings the model never saw: brand B, and a brand it does not know (feature 9).
        let fresh = vec![vec![2, 9], vec![BRAND_B, 2]];
        let recs = model.recommend_with_fresh(&user, 20, |i| i == 0, &fresh, true);
        let ranked: Vec<ItemIdx> = recs.iter().map(|r| r.item).collect();
        let brand_b = N_ITEMS as ItemIdx + 1;
        let unknown = N_ITEMS as ItemIdx;
        assert_eq!(
            ranked.len(),
            3,
            "only item 0 and the two fresh ones: {ranked:?}"
        );
        assert_eq!(ranked[0], brand_b, "{recs:?}");
        assert_eq!(
            recs[0].reason,
            Reason::SharesFeature {
                feature: BRAND_B,
                kind: FeatureKind::Brand
            }
        );
        let last = recs.iter().find(|r| r.item == unknown).unwrap();
        assert_eq!(last.score, 0.0, "nothing known about it: {recs:?}");
        // Serving may rank what the buyer only looked at: 5 is in the history but comes back.
        let again = model.recommend_with_fresh(&user, 20, |i| i == 5, &[], false);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].item, 5);
        assert!(model.recommend(&user, 20, |i| i == 5).is_empty());
    }

    #[test]
    fn a_cold_buyer_gets_what_their_age_and_gender_buy() {
        let model = train(&marketplace(), 100);
        let ask = |d| {
            model.recommend(
                &UserQuery {
                    demographics: d,
                    history: &[],
                },
                N_ITEMS,
                |_| true,
            )
        };
        let young_woman = ask(person(23, Gender::Female));
        let items: Vec<ItemIdx> = young_woman.iter().map(|r| r.item).collect();
        assert_eq!(items[..4], [0, 1, 2, 3]);
        assert_eq!(*items.last().unwrap(), 4, "never bought, last");
        let segment = person(23, Gender::Female).segment();
        assert_eq!(young_woman[0].reason, Reason::PopularWith(segment));
        assert_eq!(
            young_woman[0].reason.describe(|i| i.to_string(), &[]),
            "popular with women in their 20s"
        );
        let man = ask(person(46, Gender::Male));
        let mut top: Vec<ItemIdx> = man.iter().map(|r| r.item).take(4).collect();
        assert_eq!(top[0], 5);
        top.sort_unstable();
        assert_eq!(top, [5, 6, 7, 8]);
        assert_eq!(ask(Demographics::default())[0].reason, Reason::Popular);
        // Only what the caller allows.
        let allowed = model.recommend(
            &UserQuery {
                demographics: person(23, Gender::Female),
                history: &[],
            },
            2,
            |i| i % 2 == 1,
        );
        assert_eq!(allowed.iter().map(|r| r.item).collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn scores_and_recommendations_agree() {
        let model = train(&marketplace(), 5);
        let history = [(1, Signal::RaffleEntry), (9, Signal::View)];
        let user = UserQuery {
            demographics: person(30, Gender::Other),
            history: &history,
        };
        let mut scores = vec![0.0; N_ITEMS];
        model.score(&user, &mut scores);
        let recs = model.recommend(&user, 4, |_| true);
        assert_eq!(recs.len(), 4);
        for r in recs {
            assert_eq!(scores[r.item as usize], r.score);
        }
    }
}
