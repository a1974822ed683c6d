//! `truffle.draw/1`: tickets, the published ticket list, the randomness fixed on chain, and the
//! order that anyone can recompute from the list and the randomness alone.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::merkle::{Hash, MerkleTree};

pub const PROTOCOL: &str = "truffle.draw/1";
const TICKET_PREFIX: &[u8; 15] = b"truffle.entry/1";

/// sha256("truffle.entry/1" ‖ raffle id ‖ entry id): the 15 ASCII bytes of the prefix, then each
/// UUID's 16 bytes in the order they are written.
pub fn ticket(raffle_id: Uuid, entry_id: Uuid) -> Hash {
    Sha256::new()
        .chain_update(TICKET_PREFIX)
        .chain_update(raffle_id.as_bytes())
        .chain_update(entry_id.as_bytes())
        .finalize()
        .into()
}

/// R = sha256(seed ‖ blockhash(b + 1)), as the contract fixes it at the reveal.
pub fn randomness(seed: &Hash, block_hash: &Hash) -> Hash {
    Sha256::new()
        .chain_update(seed)
        .chain_update(block_hash)
        .finalize()
        .into()
}

/// sha256(seed): the commitment made before anyone can enter.
pub fn seed_hash(seed: &Hash) -> Hash {
    Sha256::digest(seed).into()
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("the ticket list is not sorted ascending at position {0}")]
    NotSorted(usize),
    #[error("the ticket list repeats a ticket at position {0}")]
    Duplicate(usize),
}

/// A published list must be sorted ascending with no duplicates; a verifier rejects any other.
pub fn check_list(tickets: &[Hash]) -> Result<(), ListError> {
    for (i, pair) in tickets.windows(2).enumerate() {
        match pair[0].cmp(&pair[1]) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => return Err(ListError::Duplicate(i + 1)),
            std::cmp::Ordering::Greater => return Err(ListError::NotSorted(i + 1)),
        }
    }
    Ok(())
}

/// The Merkle tree over the tickets (leaf = sha256(0x00 ‖ ticket), the `truffle.anchor/1` rules).
pub fn ticket_tree(tickets: &[Hash]) -> Option<MerkleTree> {
    MerkleTree::from_content_hashes(tickets)
}

/// The public record of one raffle's draw (`GET /v1/raffles/{id}/draw`). Hashes are lowercase
/// 0x-hex. A verifier refuses a field it does not know.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawRecord {
    /// `truffle.draw/1`.
    pub protocol: String,
    pub raffle_id: Uuid,
    /// The raffle id as the contract keys it: its 16 UUID bytes, 0x-hex.
    pub raffle_key: String,
    pub chain_id: u64,
    pub contract_address: String,
    /// The commitment, on chain before anyone could enter.
    pub product_content_hash: String,
    pub seed_hash: String,
    /// Unix seconds.
    pub closes_at: i64,
    pub winners: u32,
    /// `scheduled`, `open`, `closed`, `drawn`, `settled`, `cancelled`, `void`, `empty`.
    pub state: String,
    /// At closing: the Merkle root and count of the sorted ticket list, and the closing block `b`.
    pub ticket_root: Option<String>,
    pub ticket_count: Option<u32>,
    pub close_block: Option<u64>,
    /// At the reveal: the seed, blockhash(b + 1), and R = sha256(seed ‖ blockhash(b + 1)). An
    /// empty raffle has no reveal: its seed is published (off chain) once it is Empty on chain.
    pub seed: Option<String>,
    pub block_hash: Option<String>,
    pub randomness: Option<String>,
    pub commit_tx: Option<String>,
    pub close_tx: Option<String>,
    pub reveal_tx: Option<String>,
    /// The first `winners` tickets of the order.
    pub winning_tickets: Vec<String>,
    /// The rest of the order: alternates, first to last.
    pub alternates: Vec<String>,
    /// The full sorted ticket list, one 0x-hex ticket per line (a path on the same server).
    pub tickets_url: String,
}

/// The stream of uniform draws: block k is sha256(R ‖ be64(k)), its first 8 bytes a big-endian u64.
struct Stream {
    r: Hash,
    counter: u64,
}

impl Stream {
    fn next_u64(&mut self) -> u64 {
        let block: [u8; 32] = Sha256::new()
            .chain_update(self.r)
            .chain_update(self.counter.to_be_bytes())
            .finalize()
            .into();
        self.counter += 1;
        u64::from_be_bytes(block[..8].try_into().expect("8 bytes"))
    }

    /// Uniform in [0, bound), by rejection: x ≥ 2^64 − (2^64 mod bound) is drawn again.
    fn below(&mut self, bound: u64) -> u64 {
        // 2^64 mod bound, computed without 128-bit arithmetic: (2^64 − bound) mod bound.
        let rem = bound.wrapping_neg() % bound;
        let limit = 0u64.wrapping_sub(rem); // 2^64 − rem, as a wrapping u64 (0 means 2^64)
        loop {
            let x = self.next_u64();
            if rem == 0 || x < limit {
                return x % bound;
            }
        }
    }
}

/// The draw order: Fisher–Yates over the sorted tickets, `i` from len − 1 down to 1, `j` uniform
/// in [0, i], swap(i, j). Returns the indexes into `tickets` in draw order: the first `winners`
/// win, the rest are alternates in order.
pub fn order(ticket_count: usize, r: &Hash) -> Vec<u32> {
    let mut order: Vec<u32> = (0..ticket_count as u32).collect();
    let mut stream = Stream { r: *r, counter: 0 };
    for i in (1..ticket_count).rev() {
        let j = stream.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

/// The tickets in draw order.
pub fn ordered_tickets(tickets: &[Hash], r: &Hash) -> Vec<Hash> {
    order(tickets.len(), r)
        .into_iter()
        .map(|i| tickets[i as usize])
        .collect()
}

/// Reads the published ticket list exactly as written (§7.3 of `docs/PROTOCOLS.md`): each line
/// a ticket in lowercase 0x-hex (66 characters) ended by `\n`, an empty list an empty body.
/// Anything else is refused, not mended: upper-case hex, `\r`, blank lines, white space, a last
/// line without its `\n`. (Order and duplicates are the draw check's; see [`check_list`].)
pub fn parse_ticket_list(text: &str) -> Result<Vec<[u8; 32]>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let Some(body) = text.strip_suffix('\n') else {
        return Err("the last line does not end with \\n".into());
    };
    body.split('\n')
        .enumerate()
        .map(|(n, line)| {
            let hex = line.strip_prefix("0x").filter(|h| {
                h.len() == 64
                    && h.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            });
            let mut ticket = [0u8; 32];
            match hex.map(|h| hex::decode_to_slice(h, &mut ticket)) {
                Some(Ok(())) => Ok(ticket),
                _ => Err(format!(
                    "line {} is not a ticket in lowercase 0x-hex ended by \\n: {:?}",
                    n + 1,
                    line.chars().take(80).collect::<String>()
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_ticket_list_is_read_exactly_as_published() {
        let a = format!("0x{}", "ab".repeat(32));
        let b = format!("0x{}", "0c".repeat(32));
        let list = parse_ticket_list(&format!("{a}\n{b}\n")).unwrap();
        assert_eq!(list, vec![[0xab; 32], [0x0c; 32]]);
        assert_eq!(parse_ticket_list("").unwrap(), Vec::<[u8; 32]>::new());
        for bad in [
            a.clone(),
            format!("{a}\r\n"),
            format!("{a}\n\n{b}\n"),
            format!("{}\n", a.to_uppercase().replacen("0X", "0x", 1)),
            format!(" {a}\n"),
            format!("{}\n", &a[2..]),
            format!("{a}00\n"),
            "\n".to_owned(),
        ] {
            assert!(parse_ticket_list(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ticket_bytes_are_prefix_then_both_uuids() {
        let raffle = Uuid::parse_str("0192f5a4-c3d2-7e0b-9a3c-1d2e3f405162").unwrap();
        let entry = Uuid::parse_str("0192f5a4-c3d2-7e0b-9a3c-000000000001").unwrap();
        let mut bytes = b"truffle.entry/1".to_vec();
        bytes.extend_from_slice(raffle.as_bytes());
        bytes.extend_from_slice(entry.as_bytes());
        assert_eq!(bytes.len(), 15 + 16 + 16);
        assert_eq!(
            ticket(raffle, entry),
            <[u8; 32]>::from(Sha256::digest(&bytes))
        );
    }

    #[test]
    fn rejection_keeps_every_index_uniform_even_for_awkward_bounds() {
        // bound 3: 2^64 mod 3 = 1, so exactly one value (2^64 − 1) is rejected.
        assert_eq!(3u64.wrapping_neg() % 3, 1);
        // Powers of two reject nothing.
        assert_eq!(8u64.wrapping_neg() % 8, 0);
        let mut s = Stream {
            r: [7; 32],
            counter: 0,
        };
        for bound in [1u64, 2, 3, 7, 1 << 40, u64::MAX] {
            for _ in 0..50 {
                assert!(s.below(bound) < bound);
            }
        }
    }

    #[test]
    fn lists_must_be_sorted_and_unique() {
        assert_eq!(check_list(&[[1; 32], [2; 32], [3; 32]]), Ok(()));
        assert_eq!(
            check_list(&[[1; 32], [3; 32], [2; 32]]),
            Err(ListError::NotSorted(2))
        );
        assert_eq!(
            check_list(&[[1; 32], [1; 32]]),
            Err(ListError::Duplicate(1))
        );
        assert_eq!(check_list(&[]), Ok(()));
    }

    /// Over many seeds, each ticket lands in each position about equally often (chi-square).
    #[test]
    fn each_position_is_uniform_over_many_seeds() {
        const N: usize = 5;
        const TRIALS: usize = 20_000;
        let mut counts = [[0u32; N]; N];
        for t in 0..TRIALS as u64 {
            let r: Hash = Sha256::digest(t.to_be_bytes()).into();
            for (pos, ticket) in order(N, &r).into_iter().enumerate() {
                counts[ticket as usize][pos] += 1;
            }
        }
        let expected = TRIALS as f64 / N as f64;
        let chi2: f64 = counts
            .iter()
            .flatten()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        // 25 cells with row and column sums fixed: (N − 1)² = 16 degrees of freedom. The 0.999
        // quantile of χ²(16) is 39.25; a biased shuffle (say j in [0, i) instead of [0, i]) goes
        // far past it.
        assert!(chi2 < 39.25, "chi-square {chi2} over {counts:?}");
    }

    proptest! {
        #[test]
        fn the_order_is_a_reproducible_permutation(n in 0usize..300, r in any::<[u8; 32]>()) {
            let a = order(n, &r);
            let mut sorted = a.clone();
            sorted.sort_unstable();
            prop_assert_eq!(sorted, (0..n as u32).collect::<Vec<_>>());
            prop_assert_eq!(order(n, &r), a);
        }
    }
}
