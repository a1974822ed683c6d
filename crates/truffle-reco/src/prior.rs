//! The demographic prior: what buyers of a given age and gender interact with, for buyers with
//! little or no history.
//!
//! Plain segment popularity counts interactions inside hard age bands, so a 29-year-old learns
//! nothing from a 30-year-old, small segments are noisy, and heavy buyers dominate the counts.
//! The prior instead:
//! - weighs every other buyer by a Gaussian kernel over age (bandwidth 5 years) times 1 for the
//!   same gender and 0.1 for another;
//! - counts each buyer's interaction at weight / (their total weight)^0.5, so a buyer with 400
//!   purchases does not speak 400 times louder than one with 4;
//! - shrinks toward the global (equally normalised) popularity by 10 buyers' worth of weight,
//!   which only matters where the kernel finds few buyers.
//!
//! The constants were chosen once on MovieLens ub in cold-start mode, never on ua
//! (`docs/RECOMMENDATIONS.md`). Everything is precomputed per (age, gender) cell — ages 10 to 80
//! by year, plus unknown — keeping each cell's top `depth` items, so serving reads a list.

use rayon::prelude::*;

use crate::data::{Demographics, Gender, Histories, ItemIdx};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorParams {
    /// σ of the Gaussian kernel over age, in years.
    pub age_bandwidth: f64,
    /// Weight of a buyer of another (or unknown) gender, against 1 for the same one.
    pub other_gender_weight: f64,
    /// Pseudo-buyers of global popularity added to every cell.
    pub shrinkage: f64,
    /// β in weight / activity^β.
    pub activity_exponent: f64,
    /// Items kept per cell.
    pub depth: usize,
}

impl Default for PriorParams {
    fn default() -> Self {
        PriorParams {
            age_bandwidth: 5.0,
            other_gender_weight: 0.1,
            shrinkage: 10.0,
            activity_exponent: 0.5,
            depth: 2_000,
        }
    }
}

const AGE_MIN: u8 = 10;
const AGE_MAX: u8 = 80;
const AGE_SLOTS: usize = (AGE_MAX - AGE_MIN) as usize + 2;
const GENDER_SLOTS: usize = 4;
const CELLS: usize = AGE_SLOTS * GENDER_SLOTS;
/// Source cells weighing less than this are skipped (beyond about 4.3 σ of age).
const NEGLIGIBLE: f64 = 1e-4;

fn age_slot(age: Option<u8>) -> usize {
    age.map_or(AGE_SLOTS - 1, |a| {
        (a.clamp(AGE_MIN, AGE_MAX) - AGE_MIN) as usize
    })
}

fn gender_slot(gender: Option<Gender>) -> usize {
    match gender {
        Some(Gender::Female) => 0,
        Some(Gender::Male) => 1,
        Some(Gender::Other) => 2,
        None => 3,
    }
}

fn cell_of(d: Demographics) -> usize {
    age_slot(d.age) * GENDER_SLOTS + gender_slot(d.gender)
}

#[derive(Debug, Clone)]
pub struct DemographicPrior {
    /// Per cell, (item, score) best first.
    cells: Vec<Vec<(ItemIdx, f32)>>,
}

impl DemographicPrior {
    pub fn train(
        users: &[Demographics],
        histories: &Histories,
        n_items: usize,
        params: PriorParams,
    ) -> DemographicPrior {
        // Each active buyer's normalised interactions, summed per source cell.
        let mut triples: Vec<(u16, ItemIdx, f64)> = Vec::new();
        let mut buyers = [0.0f64; CELLS];
        let mut global = vec![0.0f64; n_items];
        let mut active = 0.0;
        for (user, history) in histories.iter().enumerate() {
            if history.is_empty() {
                continue;
            }
            let d = users.get(user).copied().unwrap_or_default();
            let cell = cell_of(d);
            let activity: f64 = history.iter().map(|(_, s)| f64::from(s.weight())).sum();
            let scale = activity.powf(-params.activity_exponent);
            buyers[cell] += 1.0;
            active += 1.0;
            for &(item, signal) in history {
                let v = f64::from(signal.weight()) * scale;
                triples.push((cell as u16, item, v));
                global[item as usize] += v;
            }
        }
        if active > 0.0 {
            global.iter_mut().for_each(|x| *x /= active);
        }
        triples.sort_unstable_by_key(|&(c, i, _)| (c, i));
        let mut sums: Vec<Vec<(ItemIdx, f64)>> = vec![Vec::new(); CELLS];
        for (cell, item, v) in triples {
            let list = &mut sums[cell as usize];
            match list.last_mut() {
                Some((last, sum)) if *last == item => *sum += v,
                _ => list.push((item, v)),
            }
        }

        let cells = (0..CELLS)
            .into_par_iter()
            .map(|target| {
                let mut acc = vec![0.0f64; n_items];
                let mut weight = 0.0;
                for source in 0..CELLS {
                    if buyers[source] == 0.0 {
                        continue;
                    }
                    let w = kernel(target, source, &params);
                    if w < NEGLIGIBLE {
                        continue;
                    }
                    weight += w * buyers[source];
                    for &(item, v) in &sums[source] {
                        acc[item as usize] += w * v;
                    }
                }
                let denominator = weight + params.shrinkage;
                let mut scored: Vec<(ItemIdx, f32)> = acc
                    .iter()
                    .zip(&global)
                    .enumerate()
                    .map(|(i, (a, g))| (i as ItemIdx, (a + params.shrinkage * g) / denominator))
                    .filter(|&(_, s)| s > 0.0)
                    .map(|(i, s)| (i, s as f32))
                    .collect();
                let best_first = |a: &(ItemIdx, f32), b: &(ItemIdx, f32)| {
                    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
                };
                if scored.len() > params.depth {
                    scored.select_nth_unstable_by(params.depth, best_first);
                    scored.truncate(params.depth);
                }
                scored.sort_unstable_by(best_first);
                scored
            })
            .collect();
        DemographicPrior { cells }
    }

    /// The prior's items for these demographics, best first.
    pub fn items(&self, d: Demographics) -> &[(ItemIdx, f32)] {
        &self.cells[cell_of(d)]
    }

    /// Scatters the prior's scores into `out` (0 for items outside the cell's list).
    pub fn score_into(&self, d: Demographics, out: &mut [f32]) {
        out.fill(0.0);
        for &(item, s) in self.items(d) {
            out[item as usize] = s;
        }
    }

    pub fn memory_bytes(&self) -> usize {
        self.cells
            .iter()
            .map(|c| c.len() * size_of::<(ItemIdx, f32)>())
            .sum()
    }
}

/// How much a buyer in cell `source` speaks for a buyer in cell `target`.
fn kernel(target: usize, source: usize, p: &PriorParams) -> f64 {
    let (ta, tg) = (target / GENDER_SLOTS, target % GENDER_SLOTS);
    let (sa, sg) = (source / GENDER_SLOTS, source % GENDER_SLOTS);
    let unknown_age = AGE_SLOTS - 1;
    let unknown_gender = GENDER_SLOTS - 1;
    let age = if ta == unknown_age {
        1.0
    } else if sa == unknown_age {
        // A buyer of unknown age counts as one two bandwidths away.
        (-2.0f64).exp()
    } else {
        let d = ta as f64 - sa as f64;
        (-d * d / (2.0 * p.age_bandwidth * p.age_bandwidth)).exp()
    };
    let gender = if tg == unknown_gender || tg == sg {
        1.0
    } else {
        p.other_gender_weight
    };
    age * gender
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Interaction, Signal};

    fn person(age: u8, gender: Gender) -> Demographics {
        Demographics {
            age: Some(age),
            gender: Some(gender),
        }
    }

    #[test]
    fn neighbours_in_age_outweigh_the_far_and_the_other_gender() {
        // Item 0: bought by women of 21–23; item 1: by men of 22; item 2: by women of 60.
        let mut users = Vec::new();
        let mut interactions = Vec::new();
        let mut add = |d: Demographics, item: ItemIdx| {
            interactions.push(Interaction {
                user: users.len() as u32,
                item,
                signal: Signal::Purchase,
            });
            users.push(d);
        };
        for age in [21, 22, 23] {
            add(person(age, Gender::Female), 0);
        }
        for _ in 0..5 {
            add(person(22, Gender::Male), 1);
        }
        for _ in 0..6 {
            add(person(60, Gender::Female), 2);
        }
        let histories = Histories::build(users.len(), &interactions);
        // Little shrinkage: with 14 buyers, the default's 10 would be most of the evidence.
        let params = PriorParams {
            shrinkage: 1.0,
            ..PriorParams::default()
        };
        let prior = DemographicPrior::train(&users, &histories, 3, params);

        let young_woman: Vec<ItemIdx> = prior
            .items(person(24, Gender::Female))
            .iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(young_woman, vec![0, 1, 2]);
        let young_man: Vec<ItemIdx> = prior
            .items(person(24, Gender::Male))
            .iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(young_man[0], 1);
        assert_eq!(prior.items(person(58, Gender::Female))[0].0, 2);
        // With nothing known, the most bought item overall leads.
        assert_eq!(prior.items(Demographics::default())[0].0, 2);
    }

    #[test]
    fn heavy_buyers_do_not_drown_the_many() {
        // Three buyers each bought items 0..50; two others of the same age bought item 50 only.
        // Raw counts put items 0..50 first (3 against 2); normalised, item 50 leads.
        let users = vec![person(30, Gender::Female); 5];
        let mut interactions = Vec::new();
        for user in 0..3 {
            interactions.extend((0..50).map(|item| Interaction {
                user,
                item,
                signal: Signal::Purchase,
            }));
        }
        interactions.extend((3..5).map(|user| Interaction {
            user,
            item: 50,
            signal: Signal::Purchase,
        }));
        let histories = Histories::build(users.len(), &interactions);
        let prior = DemographicPrior::train(&users, &histories, 51, PriorParams::default());
        assert_eq!(prior.items(person(30, Gender::Female))[0].0, 50);
    }
}
