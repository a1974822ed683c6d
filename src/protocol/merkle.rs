//! `truffle.anchor/1` Merkle trees: leaf = sha256(0x00 ‖ content hash), leaves sorted ascending
//! and deduplicated, inner node = sha256(0x01 ‖ min(a, b) ‖ max(a, b)), an odd node carried up
//! unchanged. A proof is the sibling hashes from the leaf to the root; a carried node adds no step.

use sha2::{Digest, Sha256};

/// The protocol of the anchoring tree and its proofs.
pub const PROTOCOL: &str = "truffle.anchor/1";

pub type Hash = [u8; 32];

pub fn leaf(content_hash: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(content_hash)
        .finalize()
        .into()
}

pub fn node(a: &Hash, b: &Hash) -> Hash {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    Sha256::new()
        .chain_update([0x01])
        .chain_update(lo)
        .chain_update(hi)
        .finalize()
        .into()
}

/// A whole tree, every level kept, so that each leaf's proof is a walk up.
#[derive(Debug, Clone)]
pub struct MerkleTree {
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// The tree over these records' content hashes; `None` when there are none.
    pub fn from_content_hashes<'a>(
        hashes: impl IntoIterator<Item = &'a Hash>,
    ) -> Option<MerkleTree> {
        Self::from_leaves(hashes.into_iter().map(leaf).collect())
    }

    /// The tree over already-made leaves (sorted and deduplicated here).
    pub fn from_leaves(mut leaves: Vec<Hash>) -> Option<MerkleTree> {
        leaves.sort_unstable();
        leaves.dedup();
        if leaves.is_empty() {
            return None;
        }
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().expect("a level");
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => node(a, b),
                    [a] => *a,
                    _ => unreachable!("chunks(2) yields one or two"),
                })
                .collect();
            levels.push(above);
        }
        Some(MerkleTree { levels })
    }

    pub fn root(&self) -> Hash {
        self.levels.last().expect("a tree has a root level")[0]
    }

    pub fn leaves(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// The proof of `leaf`, or `None` when it is not in the tree.
    pub fn proof(&self, leaf: &Hash) -> Option<Vec<Hash>> {
        let mut index = self.levels[0].binary_search(leaf).ok()?;
        let mut proof = Vec::with_capacity(self.levels.len());
        for level in &self.levels[..self.levels.len() - 1] {
            if let Some(sibling) = level.get(index ^ 1) {
                proof.push(*sibling);
            }
            index /= 2;
        }
        Some(proof)
    }
}

/// Does `leaf` with `proof` hash up to `root`?
pub fn verify(leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    let computed = proof.iter().fold(*leaf, |acc, sibling| node(&acc, sibling));
    &computed == root
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_leaf_is_its_own_root_and_two_leaves_pair_up() {
        let a = [1u8; 32];
        let t = MerkleTree::from_content_hashes([&a]).unwrap();
        assert_eq!(t.root(), leaf(&a));
        assert_eq!(t.proof(&leaf(&a)).unwrap(), Vec::<Hash>::new());
        let b = [2u8; 32];
        let t = MerkleTree::from_content_hashes([&b, &a, &a]).unwrap();
        assert_eq!(t.leaves().len(), 2, "duplicates collapse");
        assert_eq!(t.root(), node(&leaf(&a), &leaf(&b)));
        assert!(MerkleTree::from_content_hashes(std::iter::empty::<&Hash>()).is_none());
    }

    #[test]
    fn a_carried_node_adds_no_step() {
        let hashes: Vec<Hash> = (0..3u8).map(|i| [i; 32]).collect();
        let t = MerkleTree::from_content_hashes(&hashes).unwrap();
        let mut leaves: Vec<Hash> = hashes.iter().map(leaf).collect();
        leaves.sort();
        assert_eq!(t.root(), node(&node(&leaves[0], &leaves[1]), &leaves[2]));
        assert_eq!(
            t.proof(&leaves[2]).unwrap(),
            vec![node(&leaves[0], &leaves[1])]
        );
        assert_eq!(t.proof(&leaves[0]).unwrap(), vec![leaves[1], leaves[2]]);
    }

    proptest! {
        #[test]
        fn every_leaf_proves_and_any_change_breaks_it(
            hashes in prop::collection::vec(any::<[u8; 32]>(), 1..70),
            pick in any::<prop::sample::Index>(),
            byte in 0usize..32,
            bit in 0u8..8,
        ) {
            let tree = MerkleTree::from_content_hashes(&hashes).unwrap();
            let root = tree.root();
            for l in tree.leaves() {
                prop_assert!(verify(l, &tree.proof(l).unwrap(), &root));
            }
            let l = tree.leaves()[pick.index(tree.leaves().len())];
            let proof = tree.proof(&l).unwrap();
            let mut bad_leaf = l;
            bad_leaf[byte] ^= 1 << bit;
            prop_assert!(!verify(&bad_leaf, &proof, &root));
            let mut bad_root = root;
            bad_root[byte] ^= 1 << bit;
            prop_assert!(!verify(&l, &proof, &bad_root));
            if !proof.is_empty() {
                let mut bad_proof = proof.clone();
                let i = byte % bad_proof.len();
                bad_proof[i][byte] ^= 1 << bit;
                prop_assert!(!verify(&l, &bad_proof, &root));
                prop_assert!(!verify(&l, &proof[..proof.len() - 1], &root));
            }
        }
    }
}
