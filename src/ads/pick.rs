//! Choosing banners by weight: weighted random sampling without replacement.

use rand::Rng;

/// Picks up to `k` distinct indexes of `weights`, each draw proportional to the weights of those
/// not taken yet (so with weights 9 and 1 and `k = 1`, the first is chosen 90% of the time).
/// Weights of zero are never chosen. O(n·k): a placement has a handful of live campaigns.
pub fn pick<R: Rng + ?Sized>(weights: &[u32], k: usize, rng: &mut R) -> Vec<usize> {
    let mut left: Vec<(usize, u64)> = weights
        .iter()
        .enumerate()
        .filter(|(_, w)| **w > 0)
        .map(|(i, w)| (i, u64::from(*w)))
        .collect();
    let mut chosen = Vec::with_capacity(k.min(left.len()));
    while chosen.len() < k && !left.is_empty() {
        let total: u64 = left.iter().map(|(_, w)| w).sum();
        let mut ticket = rng.random_range(0..total);
        let at = left
            .iter()
            .position(|(_, w)| {
                if ticket < *w {
                    true
                } else {
                    ticket -= w;
                    false
                }
            })
            .expect("the ticket falls within the total weight");
        chosen.push(left.swap_remove(at).0);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn first_choice_follows_the_weights() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut firsts = [0u32; 3];
        let n = 100_000;
        for _ in 0..n {
            firsts[pick(&[6, 3, 1], 1, &mut rng)[0]] += 1;
        }
        // Expected 60%, 30%, 10%; five standard deviations is under 0.8 percentage points.
        let share = |i: usize| f64::from(firsts[i]) / f64::from(n);
        assert!((share(0) - 0.6).abs() < 0.008, "{firsts:?}");
        assert!((share(1) - 0.3).abs() < 0.008, "{firsts:?}");
        assert!((share(2) - 0.1).abs() < 0.008, "{firsts:?}");
    }

    #[test]
    fn second_choice_is_drawn_from_those_left() {
        // With weights 9 and 1 and both requested, the light one is still always returned.
        let mut rng = StdRng::seed_from_u64(1);
        let mut light_first = 0;
        for _ in 0..10_000 {
            let got = pick(&[9, 1], 2, &mut rng);
            assert_eq!(got.len(), 2);
            if got[0] == 1 {
                light_first += 1;
            }
        }
        assert!((700..1300).contains(&light_first), "{light_first}");
    }

    #[test]
    fn zero_weights_and_empty_inputs() {
        let mut rng = StdRng::seed_from_u64(3);
        assert!(pick(&[], 3, &mut rng).is_empty());
        assert!(pick(&[5, 5], 0, &mut rng).is_empty());
        for _ in 0..100 {
            assert_eq!(pick(&[0, 4, 0], 3, &mut rng), vec![1]);
        }
    }

    proptest! {
        #[test]
        fn distinct_in_range_and_as_many_as_possible(
            weights in proptest::collection::vec(0u32..=1000, 0..20),
            k in 0usize..8,
            seed in any::<u64>(),
        ) {
            let mut rng = StdRng::seed_from_u64(seed);
            let got = pick(&weights, k, &mut rng);
            let positive = weights.iter().filter(|w| **w > 0).count();
            prop_assert_eq!(got.len(), k.min(positive));
            let mut seen = std::collections::HashSet::new();
            for i in got {
                prop_assert!(i < weights.len() && weights[i] > 0);
                prop_assert!(seen.insert(i));
            }
        }
    }
}
