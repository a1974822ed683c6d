//! The content part: how well an item's features (brand, category, price band; genres and
//! decade on MovieLens) match the features of what the buyer interacted with. It needs no
//! interactions on the item itself, so a freshly listed product reaches buyers through it.
//!
//! Items are idf-weighted feature vectors, L2-normalised; a buyer's profile is the
//! signal-weighted sum of their items' vectors, L2-normalised; the score is the cosine.

use crate::data::{FeatureIdx, ItemIdx, Signal};

#[derive(Debug, Clone)]
pub struct ContentModel {
    n_features: usize,
    /// Per feature, ln(items / items having it); 0 for a feature no item had.
    idf: Vec<f32>,
    /// Per item, (feature, weight) with the item's weights of unit length.
    offsets: Vec<usize>,
    entries: Vec<(FeatureIdx, f32)>,
}

impl ContentModel {
    /// From each item's features. A feature's idf is ln(items / items having it), so a feature
    /// every item shares carries nothing.
    pub fn train(item_features: &[Vec<FeatureIdx>], n_features: usize) -> ContentModel {
        let n_items = item_features.len().max(1) as f64;
        let mut df = vec![0usize; n_features];
        for features in item_features {
            let mut own = features.clone();
            own.sort_unstable();
            own.dedup();
            for f in own {
                df[f as usize] += 1;
            }
        }
        let idf = df
            .iter()
            .map(|&d| {
                if d == 0 {
                    0.0
                } else {
                    (n_items / d as f64).ln() as f32
                }
            })
            .collect();
        let mut model = ContentModel {
            n_features,
            idf,
            offsets: Vec::with_capacity(item_features.len() + 1),
            entries: Vec::new(),
        };
        for features in item_features {
            model.offsets.push(model.entries.len());
            let vector = model.vector(features);
            model.entries.extend(vector);
        }
        model.offsets.push(model.entries.len());
        model
    }

    /// The unit vector of an item with these features, trained or not (a listing newer than
    /// the model): idf weights of the features the model knows, normalised. Features unknown
    /// to the model, or shared by every item, carry nothing.
    pub fn vector(&self, features: &[FeatureIdx]) -> Vec<(FeatureIdx, f32)> {
        let mut own: Vec<FeatureIdx> = features
            .iter()
            .copied()
            .filter(|&f| self.idf.get(f as usize).is_some_and(|&w| w > 0.0))
            .collect();
        own.sort_unstable();
        own.dedup();
        let norm = own
            .iter()
            .map(|&f| f64::from(self.idf[f as usize]).powi(2))
            .sum::<f64>()
            .sqrt();
        if norm == 0.0 {
            return Vec::new();
        }
        own.iter()
            .map(|&f| (f, (f64::from(self.idf[f as usize]) / norm) as f32))
            .collect()
    }

    fn item(&self, item: ItemIdx) -> &[(FeatureIdx, f32)] {
        let i = item as usize;
        &self.entries[self.offsets[i]..self.offsets[i + 1]]
    }

    /// The buyer's taste as a unit vector over features; all zeros with no history.
    pub fn profile(&self, history: &[(ItemIdx, Signal)]) -> Vec<f32> {
        let mut profile = vec![0.0f32; self.n_features];
        for &(item, signal) in history {
            for &(f, w) in self.item(item) {
                profile[f as usize] += signal.weight() * w;
            }
        }
        let norm = profile.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            profile.iter_mut().for_each(|x| *x /= norm);
        }
        profile
    }

    /// The cosine of every item with the profile, into `out` (one slot per item).
    pub fn score_into(&self, profile: &[f32], out: &mut [f32]) {
        for (item, slot) in out.iter_mut().enumerate() {
            *slot = cosine(profile, self.item(item as ItemIdx));
        }
    }

    /// The feature of `item` that matches the profile most (for "from a brand you buy").
    pub fn strongest_feature(&self, profile: &[f32], item: ItemIdx) -> Option<FeatureIdx> {
        strongest(profile, self.item(item))
    }

    pub fn memory_bytes(&self) -> usize {
        self.offsets.len() * size_of::<usize>()
            + self.entries.len() * size_of::<(u32, f32)>()
            + self.idf.len() * size_of::<f32>()
    }
}

/// The cosine of a profile with an item's unit vector.
pub fn cosine(profile: &[f32], vector: &[(FeatureIdx, f32)]) -> f32 {
    vector.iter().map(|&(f, w)| profile[f as usize] * w).sum()
}

/// The feature of an item's vector that matches the profile most.
pub fn strongest(profile: &[f32], vector: &[(FeatureIdx, f32)]) -> Option<FeatureIdx> {
    vector
        .iter()
        .map(|&(f, w)| (f, profile[f as usize] * w))
        .filter(|&(_, s)| s > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(f, _)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_sharing_the_rare_feature_score_highest() {
        // Features: 0 = a brand on two items, 1 = a category on every item, 2 = another brand.
        let model = ContentModel::train(&[vec![0, 1], vec![0, 1], vec![2, 1], vec![1]], 3);
        let profile = model.profile(&[(0, Signal::Purchase)]);
        let mut scores = vec![0.0; 4];
        model.score_into(&profile, &mut scores);
        assert!((scores[1] - 1.0).abs() < 1e-6, "same brand: {scores:?}");
        assert_eq!(scores[2], 0.0, "the shared category carries no weight");
        assert_eq!(scores[3], 0.0);
        assert_eq!(model.strongest_feature(&profile, 1), Some(0));
        assert_eq!(model.strongest_feature(&profile, 2), None);
    }

    #[test]
    fn an_untrained_item_is_scored_like_a_trained_one() {
        let model = ContentModel::train(&[vec![0, 1], vec![0, 1], vec![2, 1], vec![1]], 3);
        let profile = model.profile(&[(0, Signal::Purchase)]);
        let mut scores = vec![0.0; 4];
        model.score_into(&profile, &mut scores);
        // A new listing with item 1's features, and one with a feature the model never saw.
        assert_eq!(cosine(&profile, &model.vector(&[1, 0, 0])), scores[1]);
        assert_eq!(model.vector(&[7]), Vec::new());
        assert_eq!(strongest(&profile, &model.vector(&[0, 1, 7])), Some(0));
    }

    #[test]
    fn no_history_no_profile() {
        let model = ContentModel::train(&[vec![0], vec![1]], 2);
        assert_eq!(model.profile(&[]), vec![0.0, 0.0]);
    }
}
