//! The baselines the Truffle model is measured against, all behind [`Recommender`]: popularity,
//! popularity within the buyer's age/gender segment, item-kNN and EASE over every item.

use rayon::prelude::*;

use truffle_reco::data::{Demographics, Histories, ItemIdx, Segment, UserQuery, weighted_counts};
use truffle_reco::linalg::{self, NotPositiveDefinite};
pub use truffle_reco::model::Recommender;

/// Items ranked by their summed interaction weight (the number of buyers on MovieLens).
#[derive(Debug, Clone)]
pub struct Popularity {
    counts: Vec<f32>,
}

impl Popularity {
    pub fn train(n_items: usize, histories: &Histories) -> Popularity {
        Popularity {
            counts: weighted_counts(n_items, histories)
                .into_iter()
                .map(|c| c as f32)
                .collect(),
        }
    }
}

impl Recommender for Popularity {
    fn score(&self, _user: &UserQuery<'_>, scores: &mut [f32]) {
        scores.copy_from_slice(&self.counts);
    }
}

/// Popularity among buyers of the same [`Segment`] (age band × gender); ties, common in small
/// segments, are broken by global popularity.
#[derive(Debug, Clone)]
pub struct SegmentPopularity {
    segments: Vec<Vec<f32>>,
}

impl SegmentPopularity {
    pub fn train(users: &[Demographics], histories: &Histories, n_items: usize) -> Self {
        let global = weighted_counts(n_items, histories);
        let top = global.iter().copied().fold(0.0, f64::max) + 1.0;
        let mut segments = vec![vec![0.0f64; n_items]; Segment::COUNT];
        for (user, history) in histories.iter().enumerate() {
            let segment = users.get(user).copied().unwrap_or_default().segment();
            let counts = &mut segments[segment.index()];
            for &(item, signal) in history {
                counts[item as usize] += f64::from(signal.weight());
            }
        }
        let segments = segments
            .into_iter()
            .map(|counts| {
                counts
                    .iter()
                    .zip(&global)
                    .map(|(c, g)| (c + 1e-3 * g / top) as f32)
                    .collect()
            })
            .collect();
        SegmentPopularity { segments }
    }
}

impl Recommender for SegmentPopularity {
    fn score(&self, user: &UserQuery<'_>, scores: &mut [f32]) {
        scores.copy_from_slice(&self.segments[user.demographics.segment().index()]);
    }
}

/// Item-based kNN (Deshpande & Karypis): cosine similarity between items' buyer vectors, each
/// item keeping its `k` most similar items; a buyer's score for j sums the similarities of j to
/// the items in their history that list j among their neighbours. A buyer with no history
/// gets popularity.
#[derive(Debug, Clone)]
pub struct ItemKnn {
    neighbours: Vec<Vec<(ItemIdx, f32)>>,
    popularity: Popularity,
}

impl ItemKnn {
    pub fn train(n_items: usize, histories: &Histories, k: usize) -> ItemKnn {
        let mut buyers: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n_items];
        for (user, history) in histories.iter().enumerate() {
            for &(item, signal) in history {
                buyers[item as usize].push((user as u32, f64::from(signal.weight())));
            }
        }
        let norms: Vec<f64> = buyers
            .iter()
            .map(|b| b.iter().map(|(_, w)| w * w).sum::<f64>().sqrt())
            .collect();
        let neighbours = (0..n_items)
            .into_par_iter()
            .map_init(
                || vec![0.0f64; n_items],
                |acc, i| {
                    let mut touched = Vec::new();
                    for &(user, wi) in &buyers[i] {
                        for &(j, signal) in histories.of(user as usize) {
                            if acc[j as usize] == 0.0 {
                                touched.push(j);
                            }
                            acc[j as usize] += wi * f64::from(signal.weight());
                        }
                    }
                    let mut sims: Vec<(ItemIdx, f32)> = touched
                        .iter()
                        .filter(|&&j| j as usize != i)
                        .map(|&j| {
                            let s = acc[j as usize] / (norms[i] * norms[j as usize]);
                            (j, s as f32)
                        })
                        .collect();
                    for &j in &touched {
                        acc[j as usize] = 0.0;
                    }
                    let best = |a: &(ItemIdx, f32), b: &(ItemIdx, f32)| {
                        b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
                    };
                    if sims.len() > k {
                        sims.select_nth_unstable_by(k, best);
                        sims.truncate(k);
                    }
                    sims.sort_unstable_by(best);
                    sims
                },
            )
            .collect();
        ItemKnn {
            neighbours,
            popularity: Popularity::train(n_items, histories),
        }
    }
}

impl Recommender for ItemKnn {
    fn score(&self, user: &UserQuery<'_>, scores: &mut [f32]) {
        if user.history.is_empty() {
            return self.popularity.score(user, scores);
        }
        scores.fill(0.0);
        for &(item, signal) in user.history {
            for &(j, s) in &self.neighbours[item as usize] {
                scores[j as usize] += signal.weight() * s;
            }
        }
    }
}

/// EASE (Steck 2019) over every item: a dense n×n weight matrix, as in the paper. The Truffle
/// model runs the same solver on its candidate items only. A buyer with no history gets
/// popularity.
#[derive(Debug, Clone)]
pub struct Ease {
    n_items: usize,
    weights: Vec<f32>,
    popularity: Popularity,
}

impl Ease {
    pub fn train(
        n_items: usize,
        histories: &Histories,
        lambda: f64,
    ) -> Result<Ease, NotPositiveDefinite> {
        let rows: Vec<Vec<(u32, f64)>> = histories
            .iter()
            .map(|h| h.iter().map(|&(i, s)| (i, f64::from(s.weight()))).collect())
            .collect();
        let weights = linalg::ease_weights(linalg::gram(&rows, n_items), n_items, lambda)?;
        Ok(Ease {
            n_items,
            weights,
            popularity: Popularity::train(n_items, histories),
        })
    }
}

impl Recommender for Ease {
    fn score(&self, user: &UserQuery<'_>, scores: &mut [f32]) {
        if user.history.is_empty() {
            return self.popularity.score(user, scores);
        }
        scores.fill(0.0);
        let n = self.n_items;
        for &(item, signal) in user.history {
            let row = &self.weights[item as usize * n..(item as usize + 1) * n];
            let w = signal.weight();
            for (s, b) in scores.iter_mut().zip(row) {
                *s += w * b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use truffle_reco::data::{Gender, Interaction, Signal, TrainingData};
    use truffle_reco::model::{EASE_LAMBDA, TruffleModel, TruffleParams};

    use super::*;

    fn purchases(pairs: &[(u32, ItemIdx)]) -> Vec<Interaction> {
        pairs
            .iter()
            .map(|&(user, item)| Interaction {
                user,
                item,
                signal: Signal::Purchase,
            })
            .collect()
    }

    fn top(model: &dyn Recommender, user: &UserQuery<'_>, n_items: usize) -> Vec<ItemIdx> {
        let mut scores = vec![0.0; n_items];
        model.score(user, &mut scores);
        let mut items: Vec<ItemIdx> = (0..n_items as ItemIdx).collect();
        items.sort_by(|&a, &b| {
            scores[b as usize]
                .total_cmp(&scores[a as usize])
                .then(a.cmp(&b))
        });
        items
    }

    #[test]
    fn segment_popularity_follows_the_segment_and_breaks_ties_globally() {
        let users = vec![
            Demographics {
                age: Some(25),
                gender: Some(Gender::Female),
            },
            Demographics {
                age: Some(45),
                gender: Some(Gender::Male),
            },
            Demographics {
                age: Some(41),
                gender: Some(Gender::Male),
            },
        ];
        let h = Histories::build(3, &purchases(&[(0, 0), (1, 1), (2, 1), (1, 2)]));
        let model = SegmentPopularity::train(&users, &h, 4);
        let q = |d| UserQuery {
            demographics: d,
            history: &[],
        };
        assert_eq!(top(&model, &q(users[0]), 4), vec![0, 1, 2, 3]);
        assert_eq!(top(&model, &q(users[1]), 4), vec![1, 2, 0, 3]);
    }

    #[test]
    fn item_knn_recommends_what_co_occurs() {
        // Items 0 and 1 are bought together; 2 and 3 together.
        let h = Histories::build(
            4,
            &purchases(&[(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 0)]),
        );
        let model = ItemKnn::train(4, &h, 2);
        let user = UserQuery {
            demographics: Demographics::default(),
            history: h.of(3),
        };
        assert_eq!(top(&model, &user, 4)[0], 1);
        let history = [(2, Signal::Purchase)];
        let user = UserQuery {
            demographics: Demographics::default(),
            history: &history,
        };
        assert_eq!(top(&model, &user, 4)[0], 3);
    }

    #[test]
    fn ease_scores_are_history_times_weights() {
        let h = Histories::build(
            3,
            &purchases(&[(0, 0), (0, 1), (1, 0), (1, 2), (2, 1), (2, 2)]),
        );
        let model = Ease::train(3, &h, 1.0).unwrap();
        // Same matrix as linalg's hand-computed case: B = 0.25 off the diagonal.
        let history = [(0, Signal::Purchase)];
        let mut scores = vec![0.0; 3];
        model.score(
            &UserQuery {
                demographics: Demographics::default(),
                history: &history,
            },
            &mut scores,
        );
        for (s, e) in scores.iter().zip([0.0, 0.25, 0.25]) {
            assert!((s - e).abs() < 1e-6, "{scores:?}");
        }
    }

    const N_ITEMS: usize = 11;

    /// Purchases only (the other parts are off): twelve buyers of 0–3, ten of 5–8 (two also of
    /// 9 and 10, three also of 10), four of 5 alone; 4 is never bought.
    fn marketplace() -> TrainingData {
        let baskets: Vec<&[ItemIdx]> = std::iter::repeat_n(&[0, 1, 2, 3][..], 12)
            .chain(std::iter::repeat_n(&[5, 6, 7, 8, 9, 10][..], 2))
            .chain(std::iter::repeat_n(&[5, 6, 7, 8, 10][..], 3))
            .chain(std::iter::repeat_n(&[5, 6, 7, 8][..], 5))
            .chain(std::iter::repeat_n(&[5][..], 4))
            .collect();
        let interactions = baskets
            .iter()
            .enumerate()
            .flat_map(|(user, items)| {
                items.iter().map(move |&item| Interaction {
                    user: user as u32,
                    item,
                    signal: Signal::Purchase,
                })
            })
            .collect();
        TrainingData {
            users: vec![Demographics::default(); baskets.len()],
            features: Vec::new(),
            item_features: vec![Vec::new(); N_ITEMS],
            interactions,
        }
    }

    fn purchases_of(items: &[ItemIdx]) -> Vec<(ItemIdx, Signal)> {
        items.iter().map(|&i| (i, Signal::Purchase)).collect()
    }

    #[test]
    fn with_the_other_parts_off_it_ranks_like_ease() {
        let data = marketplace();
        let model = TruffleModel::train(
            &data,
            TruffleParams {
                candidates: 100,
                prior_half_life: 0.0,
                content_weight: 0.0,
                fresh_content_weight: 0.0,
                ..TruffleParams::default()
            },
        )
        .unwrap();
        let ease = Ease::train(N_ITEMS, &data.histories(), EASE_LAMBDA).unwrap();
        for history in [
            purchases_of(&[0]),
            vec![(5, Signal::Purchase), (10, Signal::View)],
        ] {
            let user = UserQuery {
                demographics: Demographics::default(),
                history: &history,
            };
            let (mut a, mut b) = (vec![0.0; N_ITEMS], vec![0.0; N_ITEMS]);
            model.score(&user, &mut a);
            ease.score(&user, &mut b);
            let max = b
                .iter()
                .enumerate()
                .filter(|(i, _)| history.iter().all(|(h, _)| *h as usize != *i))
                .map(|(_, s)| *s)
                .fold(0.0f32, f32::max);
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                // Item 4 has no interactions: outside the candidates, and 0 in both.
                assert!((x - y / max).abs() < 1e-5, "item {i}: {a:?} vs {b:?}");
            }
        }
    }
}
