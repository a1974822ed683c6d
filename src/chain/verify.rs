//! Verification of a proof bundle against any RPC node, trusting only the chain id and registry
//! address the verifier chose: never the bundle's own. Needs no database.

use alloy::primitives::{Address, B256, hex};
use serde_json::Value;

use super::client::ChainClient;
use crate::protocol::bundle::ProofBundle;
use crate::protocol::{merkle, product};

/// What the verifier trusts, from its own flags or configuration.
#[derive(Debug, Clone)]
pub struct Trust {
    pub rpc_url: String,
    pub chain_id: u64,
    pub registry: Address,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub checks: Vec<Check>,
    /// A draw verification found an empty raffle: no tickets, so nothing was drawn; what was
    /// checked is the published seed against the commitment.
    pub empty_raffle: bool,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    pub fn failed(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name)
            .collect()
    }

    fn push(&mut self, name: &'static str, ok: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            ok,
            detail: detail.into(),
        });
    }
}

fn parse_b256(s: &str) -> Option<B256> {
    s.parse::<B256>().ok()
}

/// Runs every check; a failing check never stops the others, so the report is complete.
pub async fn verify_bundle(bundle: &ProofBundle, trust: &Trust) -> Verdict {
    let mut v = Verdict {
        checks: Vec::new(),
        empty_raffle: false,
    };

    // 1. The bundle must name the chain and registry we trust.
    let registry_ok = bundle.chain_id == trust.chain_id
        && bundle.contract_address.parse::<Address>().ok() == Some(trust.registry);
    v.push(
        "trusted registry",
        registry_ok,
        if registry_ok {
            format!("chain {} registry {:#x}", trust.chain_id, trust.registry)
        } else {
            format!(
                "bundle names chain {} registry {}, but we trust chain {} registry {:#x}",
                bundle.chain_id, bundle.contract_address, trust.chain_id, trust.registry
            )
        },
    );

    // 2. The content hash is the sha256 of the record's canonical bytes.
    let content_hash = parse_b256(&bundle.content_hash);
    let computed = product::canonical_bytes(&bundle.record).map(|b| product::content_hash_of(&b));
    let hash_ok = matches!((&computed, content_hash), (Ok(c), Some(h)) if *c == h);
    v.push(
        "content hash",
        hash_ok,
        match &computed {
            Ok(c) => format!("sha256(JCS(record)) = {c}"),
            Err(e) => format!("record cannot be canonicalised: {e}"),
        },
    );

    // 3. The bundle and its record are of the protocols this verifier knows (a later version is
    // refused, never read as this one), and the record is by the bundle's seller.
    let protocols_ok = bundle.protocol == product::PROTOCOL
        && bundle.anchor_protocol == merkle::PROTOCOL
        && bundle.record.get("protocol") == Some(&Value::from(product::PROTOCOL));
    let record_ok = protocols_ok
        && bundle.record.get("seller_address").and_then(Value::as_str)
            == Some(bundle.seller_address.as_str());
    v.push(
        "record",
        record_ok,
        if protocols_ok {
            format!(
                "protocol {} anchored by {}, seller {}",
                product::PROTOCOL,
                merkle::PROTOCOL,
                bundle.seller_address
            )
        } else {
            format!(
                "protocols {:?} / {:?} (record {}): this verifier reads {} anchored by {} only",
                bundle.protocol,
                bundle.anchor_protocol,
                bundle.record.get("protocol").unwrap_or(&Value::Null),
                product::PROTOCOL,
                merkle::PROTOCOL
            )
        },
    );

    // 4. The seller signed it (EIP-712, for the chain we trust).
    let signature = hex::decode(&bundle.signature).unwrap_or_default();
    let seller = bundle.seller_address.parse::<Address>().ok();
    let sig_result = match (content_hash, seller) {
        (Some(h), Some(seller)) => {
            let text = |k: &str| {
                bundle
                    .record
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let edition = bundle
                .record
                .get("edition_size")
                .and_then(Value::as_u64)
                .unwrap_or_default();
            let message = product::typed_message(h, &text("name"), &text("brand"), edition as u32);
            product::check_signature(&message, trust.chain_id, &signature, seller)
                .map_err(|e| e.to_string())
        }
        _ => Err("content hash or seller address is malformed".into()),
    };
    v.push(
        "seller signature",
        sig_result.is_ok(),
        sig_result
            .err()
            .unwrap_or_else(|| format!("EIP-712 signed by {}", bundle.seller_address)),
    );

    // 5. The Merkle path from the record's leaf reaches the root.
    let root = parse_b256(&bundle.root);
    let proof: Option<Vec<[u8; 32]>> = bundle
        .proof
        .iter()
        .map(|p| parse_b256(p).map(|b| b.0))
        .collect();
    let path_ok = match (content_hash, root, &proof, parse_b256(&bundle.leaf)) {
        (Some(h), Some(root), Some(proof), Some(leaf)) => {
            let expected_leaf = merkle::leaf(&h.0);
            expected_leaf == leaf.0 && merkle::verify(&expected_leaf, proof, &root.0)
        }
        _ => false,
    };
    v.push(
        "merkle proof",
        path_ok,
        format!("{} step(s) to root {}", bundle.proof.len(), bundle.root),
    );

    // 6–8. The chain: right chain, root anchored in our registry, record not revoked.
    match ChainClient::read_only(&trust.rpc_url, trust.registry, trust.chain_id) {
        Err(e) => v.push("rpc", false, format!("{e:#}")),
        Ok(chain) => {
            match chain.rpc_chain_id().await {
                Ok(id) => v.push(
                    "chain id",
                    id == trust.chain_id,
                    format!("the RPC node serves chain {id}"),
                ),
                Err(e) => v.push("chain id", false, format!("RPC unreachable: {e:#}")),
            }
            match root {
                Some(root) => match chain.anchored_at(root).await {
                    Ok(0) => v.push(
                        "anchored on chain",
                        false,
                        "the registry has never anchored this root",
                    ),
                    Ok(t) => v.push(
                        "anchored on chain",
                        true,
                        format!("root anchored at block time {t}"),
                    ),
                    Err(e) => v.push(
                        "anchored on chain",
                        false,
                        format!("cannot read the registry: {e:#}"),
                    ),
                },
                None => v.push("anchored on chain", false, "root is malformed"),
            }
            match content_hash {
                Some(h) => match chain.revoked_at(h).await {
                    Ok(0) => v.push("not revoked", true, "no revocation recorded"),
                    Ok(t) => v.push("not revoked", false, format!("REVOKED at block time {t}")),
                    Err(e) => v.push(
                        "not revoked",
                        false,
                        format!("cannot read the registry: {e:#}"),
                    ),
                },
                None => v.push("not revoked", false, "content hash is malformed"),
            }
        }
    }
    v
}

/// `TruffleRegistry.RaffleState.Empty`: closed with no tickets.
const ON_CHAIN_EMPTY: u8 = 5;

/// The end of [`verify_draw`] for a raffle the chain holds as Empty: its commitment must be the
/// record's, with no tickets and no closing block, and the record must publish no draw. With the
/// seed check before, that proves sha256(published seed) is the seed hash committed on chain.
fn verify_empty(
    mut v: Verdict,
    record: &crate::protocol::draw::DrawRecord,
    on_chain: &super::client::OnChainRaffle,
) -> Verdict {
    v.empty_raffle = true;
    let commitment_ok = on_chain.ticket_count == 0
        && on_chain.ticket_root == B256::ZERO
        && on_chain.close_block == 0
        && record.ticket_count == Some(0)
        && record.ticket_root.as_deref().and_then(parse_b256) == Some(B256::ZERO)
        && record.close_block.is_none()
        && on_chain.seed_hash.to_string() == record.seed_hash
        && on_chain.product_content_hash.to_string() == record.product_content_hash
        && on_chain.winners == record.winners
        && on_chain.closes_at as i64 == record.closes_at;
    v.push(
        "on-chain raffle",
        commitment_ok,
        format!(
            "state 5 (5 = empty: closed with no tickets), seed hash {}",
            on_chain.seed_hash
        ),
    );
    let nothing_drawn = record.state == "empty"
        && record.winning_tickets.is_empty()
        && record.alternates.is_empty()
        && record.randomness.is_none()
        && record.block_hash.is_none();
    v.push(
        "no draw",
        nothing_drawn,
        "no tickets, so no randomness and no winners; the seed is published off chain",
    );
    v
}

/// Re-runs a draw from the chain and the published ticket list alone: the list is sorted and
/// unique and hashes to the root committed at closing; the seed matches the commitment made
/// before anyone could enter; the randomness is sha256(seed ‖ blockhash(b + 1)) as the contract
/// fixed it; and the order recomputed from the list and the randomness gives the published
/// winners and alternates. For a raffle that closed with no tickets (on chain: Empty) there is no
/// draw to re-run: it checks the empty list, the published seed against the seed hash on chain,
/// and that the record publishes no winners ([`Verdict::empty_raffle`]).
pub async fn verify_draw(
    record: &crate::protocol::draw::DrawRecord,
    tickets: &[[u8; 32]],
    trust: &Trust,
) -> Verdict {
    use crate::protocol::draw;
    let mut v = Verdict {
        checks: Vec::new(),
        empty_raffle: false,
    };
    let hex = |h: &[u8; 32]| format!("0x{}", alloy::primitives::hex::encode(h));

    let registry_ok = record.chain_id == trust.chain_id
        && record.contract_address.parse::<Address>().ok() == Some(trust.registry);
    v.push(
        "trusted registry",
        registry_ok,
        format!(
            "record names chain {} registry {}",
            record.chain_id, record.contract_address
        ),
    );

    // The record must be about the raffle whose on-chain draw it cites, under this protocol.
    let key_ok = record.protocol == draw::PROTOCOL
        && record
            .raffle_key
            .parse::<alloy::primitives::FixedBytes<16>>()
            .ok()
            == Some(alloy::primitives::FixedBytes::from(
                *record.raffle_id.as_bytes(),
            ));
    v.push(
        "raffle id",
        key_ok,
        format!(
            "{} keys raffle {} on chain as {}",
            record.protocol, record.raffle_id, record.raffle_key
        ),
    );

    let list = draw::check_list(tickets);
    v.push(
        "ticket list",
        list.is_ok() && Some(tickets.len() as u32) == record.ticket_count,
        match &list {
            Ok(()) => format!("{} tickets, sorted, no duplicates", tickets.len()),
            Err(e) => e.to_string(),
        },
    );
    let root = draw::ticket_tree(tickets)
        .map(|t| t.root())
        .unwrap_or([0u8; 32]);
    v.push(
        "ticket root",
        record.ticket_root.as_deref().and_then(parse_b256) == Some(B256::from(root)),
        format!("Merkle root of the list {}", hex(&root)),
    );

    let seed = record.seed.as_deref().and_then(parse_b256);
    let seed_ok = seed.is_some_and(|s| {
        record.seed_hash.parse::<B256>().ok() == Some(B256::from(draw::seed_hash(&s.0)))
    });
    v.push(
        "seed commitment",
        seed_ok,
        "sha256(seed) equals the committed seed hash",
    );

    let key: Option<alloy::primitives::FixedBytes<16>> = record.raffle_key.parse().ok();
    let chain = match ChainClient::read_only(&trust.rpc_url, trust.registry, trust.chain_id) {
        Ok(c) => c,
        Err(e) => {
            v.push("rpc", false, format!("{e:#}"));
            return v;
        }
    };
    match chain.rpc_chain_id().await {
        Ok(id) => v.push(
            "chain id",
            id == trust.chain_id,
            format!("the RPC node serves chain {id}"),
        ),
        Err(e) => v.push("chain id", false, format!("RPC unreachable: {e:#}")),
    }
    let on_chain = match key {
        Some(k) => chain.raffle(k).await.map_err(|e| format!("{e:#}")),
        None => Err("raffle_key is malformed".into()),
    };
    let Ok(on_chain) = on_chain else {
        v.push("on-chain raffle", false, on_chain.err().unwrap_or_default());
        return v;
    };
    if on_chain.state == ON_CHAIN_EMPTY {
        return verify_empty(v, record, &on_chain);
    }
    let commitment_ok = on_chain.state == 3
        && Some(on_chain.ticket_root) == record.ticket_root.as_deref().and_then(parse_b256)
        && Some(on_chain.ticket_count) == record.ticket_count
        && on_chain.seed_hash.to_string() == record.seed_hash
        && on_chain.product_content_hash.to_string() == record.product_content_hash
        && on_chain.winners == record.winners
        && on_chain.closes_at as i64 == record.closes_at
        && Some(on_chain.close_block) == record.close_block;
    v.push(
        "on-chain raffle",
        commitment_ok,
        format!(
            "state {} (3 = revealed), {} tickets, closed in block {}",
            on_chain.state, on_chain.ticket_count, on_chain.close_block
        ),
    );
    let randomness = match (seed, chain.block_hash(on_chain.close_block + 1).await) {
        (Some(seed), Ok(bh)) => {
            let r = draw::randomness(&seed.0, &bh.0);
            let ok = B256::from(r) == on_chain.randomness
                && record.randomness.as_deref().and_then(parse_b256) == Some(B256::from(r))
                && record.block_hash.as_deref().and_then(parse_b256) == Some(bh);
            v.push(
                "randomness",
                ok,
                format!(
                    "R = sha256(seed ‖ blockhash({})) = {}",
                    on_chain.close_block + 1,
                    hex(&r)
                ),
            );
            Some(r)
        }
        (_, Err(e)) => {
            v.push(
                "randomness",
                false,
                format!("cannot read block {}: {e:#}", on_chain.close_block + 1),
            );
            None
        }
        (None, _) => {
            v.push("randomness", false, "no seed revealed");
            None
        }
    };
    if let Some(r) = randomness {
        let ordered: Vec<String> = draw::ordered_tickets(tickets, &r).iter().map(hex).collect();
        let split = (record.winners as usize).min(ordered.len());
        let ok = ordered[..split] == record.winning_tickets[..]
            && ordered[split..] == record.alternates[..];
        v.push(
            "winners",
            ok,
            format!(
                "recomputed {} winner(s) and {} alternate(s)",
                split,
                ordered.len() - split
            ),
        );
    }
    v
}
