//! The offline evaluation protocol behind `reco-eval`.
//!
//! - Every test rating counts as a relevant purchase (binary relevance).
//! - The items in the buyer's training data are excluded from the ranking; every other item is
//!   ranked (ties: lower item index first).
//! - Precision@10 = hits / 10; Recall@10 = hits / |relevant|; NDCG@10 = DCG / IDCG with
//!   DCG = Σ hit_r / log2(r + 1) over ranks r = 1..10 and IDCG the same for min(|relevant|, 10)
//!   hits; each averaged over the users with at least one test rating.
//! - Warm: the models train on all training data, and a test buyer's training ratings are their
//!   history.
//! - Cold start: the test buyers are split into 5 folds (dense user index mod 5); for each fold
//!   every model is trained on the other buyers' training data only, and the fold's buyers are
//!   asked with their age and gender and an empty history. Their training items are still
//!   excluded from the ranking, so the two tables rank the same items.

use std::time::Instant;

use rayon::prelude::*;

use truffle_reco::data::{Histories, ItemIdx, TrainingData, UserQuery};
use truffle_reco::linalg::NotPositiveDefinite;
use truffle_reco::model::{EASE_LAMBDA, Part, Reason, TruffleModel, TruffleParams};

use crate::baselines::{Ease, ItemKnn, Popularity, Recommender, SegmentPopularity};

/// The rank cut-off: @10.
pub const CUTOFF: usize = 10;
/// Neighbours per item in the item-kNN baseline (a common default, not tuned).
pub const KNN_NEIGHBOURS: usize = 100;
/// Folds of test buyers in cold-start mode.
pub const COLD_FOLDS: usize = 5;

/// A training set with its test ratings and the names needed to print examples.
#[derive(Debug, Clone)]
pub struct EvalSet {
    pub data: TrainingData,
    /// Per user, the relevant items (sorted, unique).
    pub test: Vec<Vec<ItemIdx>>,
    pub item_names: Vec<String>,
    /// Per user, their id in the source files.
    pub user_ids: Vec<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    pub precision: f64,
    pub recall: f64,
    pub ndcg: f64,
}

impl Metrics {
    fn add(&mut self, other: Metrics) {
        self.precision += other.precision;
        self.recall += other.recall;
        self.ndcg += other.ndcg;
    }

    fn divided(self, n: usize) -> Metrics {
        let n = n.max(1) as f64;
        Metrics {
            precision: self.precision / n,
            recall: self.recall / n,
            ndcg: self.ndcg / n,
        }
    }
}

/// P@k, R@k and NDCG@k of one ranking against a sorted set of relevant items.
pub fn metrics_at(ranked: &[ItemIdx], relevant: &[ItemIdx], k: usize) -> Metrics {
    if relevant.is_empty() {
        return Metrics::default();
    }
    let gain = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
    let mut hits = 0usize;
    let mut dcg = 0.0;
    for (rank, item) in ranked.iter().take(k).enumerate() {
        if relevant.binary_search(item).is_ok() {
            hits += 1;
            dcg += gain(rank);
        }
    }
    let ideal: f64 = (0..relevant.len().min(k)).map(gain).sum();
    Metrics {
        precision: hits as f64 / k as f64,
        recall: hits as f64 / relevant.len() as f64,
        ndcg: dcg / ideal,
    }
}

/// The `k` best-scored items not in `excluded` (sorted), best first, lower index on ties.
pub fn top_k(scores: &[f32], excluded: &[ItemIdx], k: usize) -> Vec<ItemIdx> {
    let mut candidates: Vec<(ItemIdx, f32)> = scores
        .iter()
        .enumerate()
        .map(|(i, &s)| (i as ItemIdx, if s.is_nan() { f32::NEG_INFINITY } else { s }))
        .filter(|(i, _)| excluded.binary_search(i).is_err())
        .collect();
    let best = |a: &(ItemIdx, f32), b: &(ItemIdx, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if candidates.len() > k {
        candidates.select_nth_unstable_by(k, best);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(best);
    candidates.into_iter().map(|(i, _)| i).collect()
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub model: String,
    /// The mean over test users.
    pub metrics: Metrics,
    /// Per test user, in the same order in every row of a table.
    pub per_user: Vec<Metrics>,
    pub train_seconds: f64,
}

impl Row {
    fn new(model: String, per_user: Vec<Metrics>, train_seconds: f64) -> Row {
        let mut sum = Metrics::default();
        per_user.iter().for_each(|m| sum.add(*m));
        Row {
            model,
            metrics: sum.divided(per_user.len()),
            per_user,
            train_seconds,
        }
    }
}

/// How often each part gave the reason of Truffle's top-10 items.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReasonShares {
    pub history: usize,
    pub content: usize,
    pub prior: usize,
}

impl ReasonShares {
    fn count(&mut self, part: Part) {
        match part {
            Part::History => self.history += 1,
            Part::Content => self.content += 1,
            Part::Prior => self.prior += 1,
        }
    }

    fn add(&mut self, o: ReasonShares) {
        self.history += o.history;
        self.content += o.content;
        self.prior += o.prior;
    }

    pub fn total(&self) -> usize {
        self.history + self.content + self.prior
    }
}

/// One table and what it needs to be read.
#[derive(Debug, Clone)]
pub struct Table {
    pub rows: Vec<Row>,
    pub users: usize,
    pub reasons: ReasonShares,
    /// The last trained Truffle model (the only one in warm mode).
    pub truffle: TruffleModel,
    /// K of every Truffle model trained (one per fold in cold-start mode).
    pub candidates: Vec<usize>,
}

struct Trained {
    baselines: Vec<(String, Box<dyn Recommender>, f64)>,
    truffle: TruffleModel,
    truffle_seconds: f64,
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let out = f();
    (out, started.elapsed().as_secs_f64())
}

fn train_all(data: &TrainingData, params: TruffleParams) -> Result<Trained, NotPositiveDefinite> {
    let n = data.n_items();
    let (histories, _) = timed(|| data.histories());
    let mut baselines: Vec<(String, Box<dyn Recommender>, f64)> = Vec::new();
    let (m, s) = timed(|| Popularity::train(n, &histories));
    baselines.push((POPULARITY.into(), Box::new(m), s));
    let (m, s) = timed(|| SegmentPopularity::train(&data.users, &histories, n));
    baselines.push((SEGMENT_POPULARITY.into(), Box::new(m), s));
    let (m, s) = timed(|| ItemKnn::train(n, &histories, KNN_NEIGHBOURS));
    baselines.push((
        format!("item-kNN (cosine, k={KNN_NEIGHBOURS})"),
        Box::new(m),
        s,
    ));
    let (m, s) = timed(|| Ease::train(n, &histories, EASE_LAMBDA));
    baselines.push((ease_name(), Box::new(m?), s));
    let (truffle, truffle_seconds) = timed(|| TruffleModel::train(data, params));
    Ok(Trained {
        baselines,
        truffle: truffle?,
        truffle_seconds,
    })
}

const TRUFFLE: &str = "Truffle";
pub const POPULARITY: &str = "popularity";
pub const SEGMENT_POPULARITY: &str = "segment popularity";

/// The EASE baseline's row name.
pub fn ease_name() -> String {
    format!("EASE (λ={EASE_LAMBDA})")
}

/// Per-user metrics of a ranking function over `users`, in order.
fn evaluate_users(
    set: &EvalSet,
    users: &[usize],
    rank: impl Fn(usize) -> (Vec<ItemIdx>, Vec<Part>) + Sync,
) -> (Vec<Metrics>, ReasonShares) {
    let per_user: Vec<(Metrics, ReasonShares)> = users
        .par_iter()
        .map(|&u| {
            let (ranked, parts) = rank(u);
            let mut shares = ReasonShares::default();
            parts.into_iter().for_each(|p| shares.count(p));
            (metrics_at(&ranked, &set.test[u], CUTOFF), shares)
        })
        .collect();
    let mut shares = ReasonShares::default();
    let metrics = per_user
        .into_iter()
        .map(|(m, s)| {
            shares.add(s);
            m
        })
        .collect();
    (metrics, shares)
}

fn baseline_ranking(
    model: &dyn Recommender,
    set: &EvalSet,
    histories: &Histories,
    cold: bool,
) -> impl Fn(usize) -> (Vec<ItemIdx>, Vec<Part>) + Sync {
    move |u| {
        let excluded: Vec<ItemIdx> = histories.of(u).iter().map(|(i, _)| *i).collect();
        let query = UserQuery {
            demographics: set.data.users[u],
            history: if cold { &[] } else { histories.of(u) },
        };
        let mut scores = vec![0.0f32; set.data.n_items()];
        model.score(&query, &mut scores);
        (top_k(&scores, &excluded, CUTOFF), Vec::new())
    }
}

fn truffle_ranking<'a>(
    model: &'a TruffleModel,
    set: &'a EvalSet,
    histories: &'a Histories,
    cold: bool,
) -> impl Fn(usize) -> (Vec<ItemIdx>, Vec<Part>) + Sync + 'a {
    move |u| {
        let excluded = histories.of(u);
        let query = UserQuery {
            demographics: set.data.users[u],
            history: if cold { &[] } else { excluded },
        };
        let recs = model.recommend(&query, CUTOFF, |i| {
            excluded
                .binary_search_by_key(&i, |(item, _)| *item)
                .is_err()
        });
        (
            recs.iter().map(|r| r.item).collect(),
            recs.iter().map(|r| r.reason.part()).collect(),
        )
    }
}

fn test_users(set: &EvalSet) -> Vec<usize> {
    (0..set.data.n_users())
        .filter(|&u| !set.test[u].is_empty())
        .collect()
}

/// Warm mode: train on everything, ask with the buyer's training history.
pub fn warm(set: &EvalSet, params: TruffleParams) -> Result<Table, NotPositiveDefinite> {
    let users = test_users(set);
    let histories = set.data.histories();
    let trained = train_all(&set.data, params)?;
    let mut rows = Vec::new();
    for (name, model, seconds) in &trained.baselines {
        let (m, _) = evaluate_users(
            set,
            &users,
            baseline_ranking(model.as_ref(), set, &histories, false),
        );
        rows.push(Row::new(name.clone(), m, *seconds));
    }
    let (m, reasons) = evaluate_users(
        set,
        &users,
        truffle_ranking(&trained.truffle, set, &histories, false),
    );
    rows.push(Row::new(TRUFFLE.into(), m, trained.truffle_seconds));
    Ok(Table {
        rows,
        users: users.len(),
        reasons,
        candidates: vec![trained.truffle.candidates().len()],
        truffle: trained.truffle,
    })
}

/// Cold-start mode: per fold of test buyers, train without them and ask with age and gender only.
pub fn cold(set: &EvalSet, params: TruffleParams) -> Result<Table, NotPositiveDefinite> {
    let users = test_users(set);
    let histories = set.data.histories();
    let mut sums: Vec<(String, Vec<Metrics>, f64)> = Vec::new();
    let mut reasons = ReasonShares::default();
    let mut candidates = Vec::new();
    let mut last = None;
    for fold in 0..COLD_FOLDS {
        let fold_users: Vec<usize> = users
            .iter()
            .copied()
            .filter(|u| u % COLD_FOLDS == fold)
            .collect();
        if fold_users.is_empty() {
            continue;
        }
        let mut data = set.data.clone();
        data.interactions.retain(|i| {
            i.user as usize % COLD_FOLDS != fold || set.test[i.user as usize].is_empty()
        });
        let trained = train_all(&data, params)?;
        let mut results = Vec::new();
        for (name, model, seconds) in &trained.baselines {
            let (m, _) = evaluate_users(
                set,
                &fold_users,
                baseline_ranking(model.as_ref(), set, &histories, true),
            );
            results.push((name.clone(), m, *seconds));
        }
        let (m, r) = evaluate_users(
            set,
            &fold_users,
            truffle_ranking(&trained.truffle, set, &histories, true),
        );
        reasons.add(r);
        results.push((TRUFFLE.into(), m, trained.truffle_seconds));
        if sums.is_empty() {
            sums = results;
        } else {
            for (sum, (_, m, s)) in sums.iter_mut().zip(results) {
                sum.1.extend(m);
                sum.2 += s;
            }
        }
        candidates.push(trained.truffle.candidates().len());
        last = Some(trained.truffle);
    }
    let Some(truffle) = last else {
        // No test users: train once so the table still names the model.
        return warm(set, params);
    };
    Ok(Table {
        rows: sums
            .into_iter()
            .map(|(model, m, s)| Row::new(model, m, s))
            .collect(),
        users: users.len(),
        reasons,
        truffle,
        candidates,
    })
}

/// The table as `reco-eval` prints it.
pub fn format_table(table: &Table) -> String {
    let mut out = format!(
        "{:<26} {:>7} {:>7} {:>8} {:>9}\n",
        "model", "P@10", "R@10", "NDCG@10", "train s"
    );
    for row in &table.rows {
        out += &format!(
            "{:<26} {:>7.4} {:>7.4} {:>8.4} {:>9.2}\n",
            row.model,
            row.metrics.precision,
            row.metrics.recall,
            row.metrics.ndcg,
            row.train_seconds
        );
    }
    out
}

/// Truffle against another row of the same table: the mean per-user difference in P@10 and
/// NDCG@10 with its standard error (paired: the same users, the same test items).
pub fn format_comparison(table: &Table, other: &str) -> Option<String> {
    let find = |name: &str| table.rows.iter().find(|r| r.model == name);
    let (ours, theirs) = (find(TRUFFLE)?, find(other)?);
    let paired = |f: fn(&Metrics) -> f64| {
        let d: Vec<f64> = ours
            .per_user
            .iter()
            .zip(&theirs.per_user)
            .map(|(a, b)| f(a) - f(b))
            .collect();
        let n = d.len().max(2) as f64;
        let mean = d.iter().sum::<f64>() / n;
        let var = d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        let se = (var / n).sqrt();
        let relative = mean / f(&theirs.metrics) * 100.0;
        format!(
            "{mean:+.4} ({relative:+.1}%, {:.1} standard errors)",
            if se > 0.0 { mean / se } else { 0.0 }
        )
    };
    Some(format!(
        "Truffle − {other}, per user: P@10 {}, NDCG@10 {}",
        paired(|m| m.precision),
        paired(|m| m.ndcg)
    ))
}

/// The share of each part among the reasons of Truffle's top-10 items.
pub fn format_reasons(shares: &ReasonShares) -> String {
    let total = shares.total().max(1) as f64;
    format!(
        "reasons of Truffle's top-10 items: history {:.1}%, content {:.1}%, prior {:.1}%",
        100.0 * shares.history as f64 / total,
        100.0 * shares.content as f64 / total,
        100.0 * shares.prior as f64 / total
    )
}

/// Truffle's top `n` for one buyer with reasons, as text lines.
pub fn example(
    set: &EvalSet,
    model: &TruffleModel,
    user: usize,
    cold: bool,
    n: usize,
) -> Vec<String> {
    let histories = set.data.histories();
    let owned = histories.of(user);
    let query = UserQuery {
        demographics: set.data.users[user],
        history: if cold { &[] } else { owned },
    };
    let name = |i: ItemIdx| set.item_names[i as usize].clone();
    model
        .recommend(&query, n, |i| {
            owned.binary_search_by_key(&i, |(item, _)| *item).is_err()
        })
        .iter()
        .map(|r| {
            let hit = if set.test[user].binary_search(&r.item).is_ok() {
                " ✓"
            } else {
                ""
            };
            format!(
                "{}{hit} — {}",
                name(r.item),
                describe(&r.reason, set, &name)
            )
        })
        .collect()
}

fn describe(reason: &Reason, set: &EvalSet, name: &impl Fn(ItemIdx) -> String) -> String {
    reason.describe(name, &set.data.features)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_on_a_hand_computed_ranking() {
        // Hits at ranks 1 and 3 of 10; 4 relevant items.
        let ranked = [7, 1, 9, 2, 3, 4, 5, 6, 8, 10];
        let relevant = [9, 7, 20, 21];
        let mut sorted = relevant.to_vec();
        sorted.sort_unstable();
        let m = metrics_at(&ranked, &sorted, 10);
        assert!((m.precision - 0.2).abs() < 1e-12);
        assert!((m.recall - 0.5).abs() < 1e-12);
        let dcg = 1.0 + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2() + 1.0 / 5f64.log2();
        assert!((m.ndcg - dcg / idcg).abs() < 1e-12);
    }

    #[test]
    fn ideal_dcg_counts_at_most_k_relevant_items() {
        // 12 relevant items, the first 10 ranked are all relevant: a perfect ranking.
        let relevant: Vec<ItemIdx> = (0..12).collect();
        let ranked: Vec<ItemIdx> = (0..10).collect();
        let m = metrics_at(&ranked, &relevant, 10);
        assert!((m.ndcg - 1.0).abs() < 1e-12);
        assert!((m.precision - 1.0).abs() < 1e-12);
        assert!((m.recall - 10.0 / 12.0).abs() < 1e-12);
        // One relevant item at rank 2: NDCG = 1/log2(3).
        let m = metrics_at(&[5, 3], &[3], 10);
        assert!((m.ndcg - 1.0 / 3f64.log2()).abs() < 1e-12);
        assert!((m.precision - 0.1).abs() < 1e-12);
        assert_eq!(metrics_at(&[1], &[], 10), Metrics::default());
    }

    #[test]
    fn top_k_excludes_and_breaks_ties_by_index() {
        let scores = [0.5, 0.9, 0.5, f32::NAN, 0.9, 0.1];
        assert_eq!(top_k(&scores, &[4], 3), vec![1, 0, 2]);
        assert_eq!(top_k(&scores, &[], 10), vec![1, 4, 0, 2, 5, 3]);
    }
}
