//! Verification of a proof bundle against any RPC node, trusting only the chain id and registry
//! address the verifier chose: never the bundle's own. Needs no database.

use alloy::primitives::{Address, B256, hex};
use serde_json::Value;

use super::client::ChainClient;
use crate::protocol::bundle::ProofBundle;
use crate::protocol::transfer::{self, History};
use crate::protocol::unit::{self, UnitProof, UnitsRecord};
use crate::protocol::{merkle, product};

/// What the verifier trusts, from its own flags or configuration.
#[derive(Debug, Clone)]
pub struct Trust {
    pub rpc_url: String,
    pub chain_id: u64,
    pub registry: Address,
    /// How deep an anchoring (or a draw's reveal) must be before it counts: 1 is the latest
    /// block; N reads the registry in the state after block `head − (N − 1)`.
    pub confirmations: u64,
}

impl Trust {
    /// The block whose state counts as settled, given the chain's head (`None` while the chain
    /// is shorter than the confirmations asked for).
    pub fn settled_block(&self, head: u64) -> Option<u64> {
        head.checked_sub(self.confirmations.max(1) - 1)
    }
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

/// How the bundle's own fields are written (`docs/PROTOCOLS.md` §4.2, check 1): every hash,
/// address and signature lowercase 0x-hex of its length, the block time `YYYY-MM-DDTHH:MM:SSZ`.
fn bundle_form(bundle: &ProofBundle) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = |name: &str, value: &str, digits: usize| {
        if !product::is_lower_hex(value, digits) {
            out.push(format!(
                "`{name}` is not 0x and {digits} lowercase hex digits"
            ));
        }
    };
    field("content_hash", &bundle.content_hash, 64);
    field("leaf", &bundle.leaf, 64);
    field("root", &bundle.root, 64);
    field("tx_hash", &bundle.tx_hash, 64);
    field("signature", &bundle.signature, 130);
    field("seller_address", &bundle.seller_address, 40);
    field("contract_address", &bundle.contract_address, 40);
    for (i, step) in bundle.proof.iter().enumerate() {
        field(&format!("proof[{i}]"), step, 64);
    }
    if block_seconds(&bundle.block_time).is_none() {
        out.push("`block_time` is not YYYY-MM-DDTHH:MM:SSZ".into());
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SSZ` as Unix seconds.
fn block_seconds(text: &str) -> Option<u64> {
    let naive = text.strip_suffix('Z').filter(|t| t.len() == 19)?;
    let at = chrono::NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S").ok()?;
    u64::try_from(at.and_utc().timestamp()).ok()
}

/// Runs every check of `docs/PROTOCOLS.md` §4.2, in its order; a failing check never stops the
/// others, so the report is complete.
pub async fn verify_bundle(bundle: &ProofBundle, trust: &Trust) -> Verdict {
    let mut v = verify_bundle_offline(bundle, trust);
    check_bundle_on_chain(&mut v, bundle, trust).await;
    v
}

/// Checks 1–9 of `docs/PROTOCOLS.md` §4.2: everything that needs no chain.
pub fn verify_bundle_offline(bundle: &ProofBundle, trust: &Trust) -> Verdict {
    let mut v = Verdict {
        checks: Vec::new(),
        empty_raffle: false,
    };

    // 1. The bundle's fields are written as the protocol writes them.
    let form = bundle_form(bundle);
    v.push(
        "bundle form",
        form.is_empty(),
        if form.is_empty() {
            "hashes, addresses and signature in lowercase 0x-hex; block time in UTC".to_owned()
        } else {
            form.join("; ")
        },
    );

    // 2. The bundle and its record are of the protocols this verifier knows (a later version is
    // refused, never read as this one).
    let protocols_ok = bundle.protocol == product::PROTOCOL
        && bundle.anchor_protocol == merkle::PROTOCOL
        && bundle.record.get("protocol") == Some(&Value::from(product::PROTOCOL));
    v.push(
        "protocols",
        protocols_ok,
        format!(
            "bundle {:?} anchored by {:?}, record {}; this verifier reads {} anchored by {} only",
            bundle.protocol,
            bundle.anchor_protocol,
            bundle.record.get("protocol").unwrap_or(&Value::Null),
            product::PROTOCOL,
            merkle::PROTOCOL
        ),
    );

    // 3. The bundle must name the chain and registry we trust.
    let registry_ok = bundle.chain_id == trust.chain_id
        && bundle.contract_address == format!("{:#x}", trust.registry);
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

    // 4. The record keeps the record rules (keys, types, ranges, NFC text, lowercase hex).
    let broken = product::record_violations(&bundle.record);
    v.push(
        "record rules",
        broken.is_empty(),
        if broken.is_empty() {
            "14 keys, each of its type and range; text NFC and trimmed".to_owned()
        } else {
            broken.join("; ")
        },
    );

    // 5. The content hash is the sha256 of the record's canonical bytes.
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

    // 6. The record is the bundle's seller's.
    let seller_ok = bundle.record.get("seller_address").and_then(Value::as_str)
        == Some(bundle.seller_address.as_str());
    v.push(
        "seller",
        seller_ok,
        format!("record.seller_address is {}", bundle.seller_address),
    );

    // 7–8. The typed data printed in the bundle is exactly the one built from the record for
    // the trusted chain, and the seller signed it (EIP-712).
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
        .and_then(|e| u32::try_from(e).ok())
        .unwrap_or_default();
    let message =
        content_hash.map(|h| product::typed_message(h, &text("name"), &text("brand"), edition));
    let typed_ok = message
        .as_ref()
        .is_some_and(|m| bundle.eip712 == product::typed_data_json(m, trust.chain_id));
    v.push(
        "typed data",
        typed_ok,
        if typed_ok {
            "eip712 is the typed data of this record on the trusted chain"
        } else {
            "eip712 differs from the typed data built from the record for the trusted chain"
        },
    );
    let signature = bundle
        .signature
        .strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .unwrap_or_default();
    let seller = bundle.seller_address.parse::<Address>().ok();
    let sig_result = match (&message, seller) {
        (Some(m), Some(seller)) => product::check_signature(m, trust.chain_id, &signature, seller)
            .map_err(|e| e.to_string()),
        _ => Err("content hash or seller address is malformed".into()),
    };
    v.push(
        "seller signature",
        sig_result.is_ok(),
        sig_result
            .err()
            .unwrap_or_else(|| format!("EIP-712 signed by {}", bundle.seller_address)),
    );

    // 9. The Merkle path from the record's leaf reaches the root.
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
    v
}

/// Checks 10–12 of `docs/PROTOCOLS.md` §4.2: the right chain, the root anchored in the trusted
/// registry deep enough and at the bundle's time, the record not revoked.
async fn check_bundle_on_chain(v: &mut Verdict, bundle: &ProofBundle, trust: &Trust) {
    let content_hash = parse_b256(&bundle.content_hash);
    let root = parse_b256(&bundle.root);
    let Some(chain) = connect(v, trust, "chain id").await else {
        return;
    };
    let head = match chain.block_number().await {
        Ok(head) => head,
        Err(e) => {
            v.push(
                "anchored on chain",
                false,
                format!("RPC unreachable: {e:#}"),
            );
            v.push("not revoked", false, format!("RPC unreachable: {e:#}"));
            return;
        }
    };
    check_anchored(v, &chain, head, root, &bundle.block_time, trust).await;
    match content_hash {
        Some(h) => match chain.reading_at(head).revoked_at(h).await {
            Ok(0) => v.push(
                "not revoked",
                true,
                format!("no revocation recorded by block {head}"),
            ),
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

/// How the draw record's fields are written (`docs/PROTOCOLS.md` §7.7, check 1): the raffle key,
/// hashes, transactions and tickets lowercase 0x-hex of their lengths, the address too.
fn draw_form(record: &crate::protocol::draw::DrawRecord) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = |name: &str, value: Option<&str>, digits: usize| {
        if let Some(value) = value
            && !product::is_lower_hex(value, digits)
        {
            out.push(format!(
                "`{name}` is not 0x and {digits} lowercase hex digits"
            ));
        }
    };
    field("raffle_key", Some(&record.raffle_key), 32);
    field("contract_address", Some(&record.contract_address), 40);
    field(
        "product_content_hash",
        Some(&record.product_content_hash),
        64,
    );
    field("seed_hash", Some(&record.seed_hash), 64);
    for (name, value) in [
        ("ticket_root", &record.ticket_root),
        ("seed", &record.seed),
        ("block_hash", &record.block_hash),
        ("randomness", &record.randomness),
        ("commit_tx", &record.commit_tx),
        ("close_tx", &record.close_tx),
        ("reveal_tx", &record.reveal_tx),
    ] {
        field(name, value.as_deref(), 64);
    }
    for (i, t) in record.winning_tickets.iter().enumerate() {
        field(&format!("winning_tickets[{i}]"), Some(t), 64);
    }
    for (i, t) in record.alternates.iter().enumerate() {
        field(&format!("alternates[{i}]"), Some(t), 64);
    }
    out
}

/// Check 11 of `docs/PROTOCOLS.md` §4.2 for any anchored hash: `root` is anchored in the
/// trusted registry in the state `C − 1` blocks below `head`, at the stated `block_time`.
async fn check_anchored(
    v: &mut Verdict,
    chain: &ChainClient,
    head: u64,
    root: Option<B256>,
    block_time: &str,
    trust: &Trust,
) {
    let stated = block_seconds(block_time);
    match (root, trust.settled_block(head)) {
        (None, _) => v.push("anchored on chain", false, "root is malformed"),
        (_, None) => v.push(
            "anchored on chain",
            false,
            format!(
                "the chain has {} blocks, fewer than {} confirmations",
                head + 1,
                trust.confirmations
            ),
        ),
        (Some(root), Some(settled)) => match chain.reading_at(settled).anchored_at(root).await {
            Ok(0) => v.push(
                "anchored on chain",
                false,
                format!(
                    "the registry holds no anchoring of this root at block {settled} ({} confirmation(s) deep)",
                    trust.confirmations.max(1)
                ),
            ),
            Ok(t) if Some(t) != stated => v.push(
                "anchored on chain",
                false,
                format!(
                    "anchored at block time {t}, but the proof says {block_time}"
                ),
            ),
            Ok(t) => v.push(
                "anchored on chain",
                true,
                format!(
                    "root anchored at block time {t}, settled by block {settled} ({} confirmation(s))",
                    trust.confirmations.max(1)
                ),
            ),
            Err(e) => v.push(
                "anchored on chain",
                false,
                format!("cannot read the registry: {e:#}"),
            ),
        },
    }
}

/// A read-only client of the trusted RPC node and registry, and the `chain id` check (the node
/// serves the trusted chain); `None`, with an `rpc` failure, when the URL is unusable.
async fn connect(v: &mut Verdict, trust: &Trust, check: &'static str) -> Option<ChainClient> {
    let chain = match ChainClient::read_only(&trust.rpc_url, trust.registry, trust.chain_id) {
        Ok(chain) => chain,
        Err(e) => {
            v.push("rpc", false, format!("{e:#}"));
            return None;
        }
    };
    match chain.rpc_chain_id().await {
        Ok(id) => v.push(
            check,
            id == trust.chain_id,
            format!("the RPC node serves chain {id}"),
        ),
        Err(e) => v.push(check, false, format!("RPC unreachable: {e:#}")),
    }
    Some(chain)
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
    raffle: Option<uuid::Uuid>,
    trust: &Trust,
) -> Verdict {
    use crate::protocol::draw;
    let mut v = Verdict {
        checks: Vec::new(),
        empty_raffle: false,
    };
    let hex = |h: &[u8; 32]| format!("0x{}", alloy::primitives::hex::encode(h));

    let form = draw_form(record);
    v.push(
        "record form",
        form.is_empty(),
        if form.is_empty() {
            "hashes, keys and addresses in lowercase 0x-hex".to_owned()
        } else {
            form.join("; ")
        },
    );

    let registry_ok = record.chain_id == trust.chain_id
        && record.contract_address == format!("{:#x}", trust.registry);
    v.push(
        "trusted registry",
        registry_ok,
        format!(
            "record names chain {} registry {}",
            record.chain_id, record.contract_address
        ),
    );

    // The record must be about the raffle the verifier means, and the one whose on-chain draw
    // it cites, under this protocol.
    let key_ok = record.protocol == draw::PROTOCOL
        && raffle.is_none_or(|r| r == record.raffle_id)
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
        match raffle {
            Some(r) if r != record.raffle_id => {
                format!("the record is for raffle {}, not {r}", record.raffle_id)
            }
            _ => format!(
                "{} keys raffle {} on chain as {}",
                record.protocol, record.raffle_id, record.raffle_key
            ),
        },
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
    let Some(chain) = connect(&mut v, trust, "chain id").await else {
        return v;
    };
    // The raffle as the registry holds it the trusted number of confirmations deep.
    let settled = match chain.block_number().await {
        Ok(head) => trust.settled_block(head).ok_or_else(|| {
            format!(
                "the chain has {} blocks, fewer than {} confirmations",
                head + 1,
                trust.confirmations
            )
        }),
        Err(e) => Err(format!("RPC unreachable: {e:#}")),
    };
    let on_chain = match (key, settled) {
        (_, Err(e)) => Err(e),
        (Some(k), Ok(at)) => chain
            .reading_at(at)
            .raffle(k)
            .await
            .map_err(|e| format!("{e:#}")),
        (None, _) => Err("raffle_key is malformed".into()),
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

/// How a unit proof is written, and whether its unit is of its unit set (`docs/PROTOCOLS.md`
/// §8.4, check 1): every way it is not, empty when it is.
fn unit_form(unit: &UnitProof, units: Option<&UnitsRecord>) -> Vec<String> {
    let mut form = Vec::new();
    for (name, value, digits) in [
        ("unit_hash", unit.unit_hash.as_str(), 64),
        ("units_hash", unit.units_hash.as_str(), 64),
        ("leaf", unit.leaf.as_str(), 64),
        ("root", unit.root.as_str(), 64),
        ("tx_hash", unit.tx_hash.as_str(), 64),
        ("signature", unit.signature.as_str(), 130),
        ("contract_address", unit.contract_address.as_str(), 40),
    ] {
        if !product::is_lower_hex(value, digits) {
            form.push(format!(
                "`{name}` is not 0x and {digits} lowercase hex digits"
            ));
        }
    }
    if unit
        .unit_proof
        .iter()
        .chain(&unit.proof)
        .any(|p| !product::is_lower_hex(p, 64))
    {
        form.push("a proof step is not 0x and 64 lowercase hex digits".into());
    }
    if block_seconds(&unit.block_time).is_none() {
        form.push("`block_time` is not YYYY-MM-DDTHH:MM:SSZ".into());
    }
    let u = &unit.unit;
    if unit.protocol != unit::UNIT_PROTOCOL || u.protocol != unit::UNIT_PROTOCOL {
        form.push(format!("the unit is not {}", unit::UNIT_PROTOCOL));
    }
    if !unit::is_code(&u.code) {
        form.push("`unit.code` is not 20 characters of the code alphabet".into());
    }
    if u.serial == 0 || u.serial > u.edition_size {
        form.push(format!(
            "serial {} is not 1 to {}",
            u.serial, u.edition_size
        ));
    }
    match units {
        None => form.push("`units` is not a truffle.units/1 record".into()),
        Some(s) => {
            if s.protocol != unit::UNITS_PROTOCOL {
                form.push(format!("the unit set is not {}", unit::UNITS_PROTOCOL));
            }
            if s.product_id != u.product_id || s.edition_size != u.edition_size {
                form.push("the unit is of another product or edition than the unit set".into());
            }
            if !product::is_lower_hex(&s.seller_address, 40)
                || !product::is_lower_hex(&s.units_root, 64)
                || !product::is_lower_hex(&s.product_content_hash, 64)
            {
                form.push("a hash or address of the unit set is not lowercase 0x-hex".into());
            }
        }
    }
    form
}

/// Checks one unit as `docs/PROTOCOLS.md` §8.4 says: the unit record and its path to the
/// edition's units root, the seller's signature over the unit set, the product it is of (its
/// proof bundle, every check of §4.2), and the unit set's anchoring. Every check runs, so the
/// report is complete.
pub async fn verify_unit(unit: &UnitProof, product_bundle: &ProofBundle, trust: &Trust) -> Verdict {
    let mut v = Verdict {
        checks: Vec::new(),
        empty_raffle: false,
    };
    let units: Option<UnitsRecord> = serde_json::from_value(unit.units.clone()).ok();

    // 1. Protocols and forms; the unit is of this unit set.
    let form = unit_form(unit, units.as_ref());
    let u = &unit.unit;
    v.push(
        "unit form",
        form.is_empty(),
        if form.is_empty() {
            format!(
                "unit {} of {} of product {}",
                u.serial, u.edition_size, u.product_id
            )
        } else {
            form.join("; ")
        },
    );

    // 2. The unit record's hash, and its path to the units root.
    let unit_hash = serde_json::to_value(u)
        .ok()
        .and_then(|value| crate::protocol::jcs::canonicalize(&value).ok())
        .map(|bytes| product::content_hash_of(&bytes));
    v.push(
        "unit hash",
        unit_hash.is_some_and(|h| h.to_string() == unit.unit_hash),
        "sha256(JCS(unit)) is unit_hash",
    );
    let steps: Option<Vec<[u8; 32]>> = unit
        .unit_proof
        .iter()
        .map(|p| parse_b256(p).map(|b| b.0))
        .collect();
    let units_root = units.as_ref().and_then(|s| parse_b256(&s.units_root));
    let in_tree = match (unit_hash, &steps, units_root) {
        (Some(h), Some(steps), Some(root)) => merkle::verify(&merkle::leaf(&h.0), steps, &root.0),
        _ => false,
    };
    v.push(
        "units tree",
        in_tree,
        format!("{} step(s) to the units root", unit.unit_proof.len()),
    );

    // 3. The unit set's hash, typed data and the seller's signature.
    let units_hash = crate::protocol::jcs::canonicalize(&unit.units)
        .ok()
        .map(|bytes| product::content_hash_of(&bytes));
    v.push(
        "unit set hash",
        units_hash.is_some_and(|h| h.to_string() == unit.units_hash),
        "sha256(JCS(units)) is units_hash",
    );
    let message = match (units_hash, &units) {
        (Some(h), Some(s)) => unit::typed_message(h, s),
        _ => None,
    };
    let typed_ok = message
        .as_ref()
        .is_some_and(|m| unit.eip712 == unit::typed_data_json(m, trust.chain_id));
    v.push(
        "typed data",
        typed_ok,
        "eip712 is the typed data of this unit set on the trusted chain",
    );
    let signature = unit
        .signature
        .strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .unwrap_or_default();
    let seller = units
        .as_ref()
        .and_then(|s| s.seller_address.parse::<Address>().ok());
    let signed = match (&message, seller) {
        (Some(m), Some(seller)) => {
            unit::check_signature(m, trust.chain_id, &signature, seller).map_err(|e| e.to_string())
        }
        _ => Err("the unit set's hashes or seller address are malformed".into()),
    };
    v.push(
        "seller signature",
        signed.is_ok(),
        signed.err().unwrap_or_else(|| {
            format!(
                "EIP-712 signed by {}",
                units.as_ref().map_or("?", |s| s.seller_address.as_str())
            )
        }),
    );

    // 4. The product the units are of: its bundle verifies, and it is that record, that seller.
    let product_verdict = verify_bundle(product_bundle, trust).await;
    let same = units.as_ref().is_some_and(|s| {
        s.product_content_hash == product_bundle.content_hash
            && s.seller_address == product_bundle.seller_address
    });
    v.push(
        "product",
        product_verdict.ok() && same,
        if !same {
            "the product bundle is not of the record and seller the unit set names".to_owned()
        } else if product_verdict.ok() {
            format!("product record {} verified", product_bundle.content_hash)
        } else {
            format!(
                "the product bundle fails: {}",
                product_verdict.failed().join(", ")
            )
        },
    );

    // 5. The unit set's anchoring (checks 3, 9, 10, 11 of §4.2 with units_hash).
    let registry_ok = unit.chain_id == trust.chain_id
        && unit.contract_address == format!("{:#x}", trust.registry);
    v.push(
        "trusted registry",
        registry_ok,
        format!(
            "proof names chain {} registry {}",
            unit.chain_id, unit.contract_address
        ),
    );
    let root = parse_b256(&unit.root);
    let anchor_steps: Option<Vec<[u8; 32]>> = unit
        .proof
        .iter()
        .map(|p| parse_b256(p).map(|b| b.0))
        .collect();
    let path_ok = match (units_hash, root, &anchor_steps, parse_b256(&unit.leaf)) {
        (Some(h), Some(root), Some(steps), Some(leaf)) => {
            merkle::leaf(&h.0) == leaf.0 && merkle::verify(&leaf.0, steps, &root.0)
        }
        _ => false,
    };
    v.push(
        "merkle proof",
        path_ok,
        format!("{} step(s) to root {}", unit.proof.len(), unit.root),
    );
    let Some(chain) = connect(&mut v, trust, "chain id").await else {
        return v;
    };
    match chain.block_number().await {
        Ok(head) => check_anchored(&mut v, &chain, head, root, &unit.block_time, trust).await,
        Err(e) => v.push(
            "anchored on chain",
            false,
            format!("RPC unreachable: {e:#}"),
        ),
    }
    v
}

/// How a history's records and proofs are written (`docs/PROTOCOLS.md` §9.4, check 1).
fn history_form(history: &History, unit_hash: &str, code: &str) -> Vec<String> {
    let mut out = Vec::new();
    if history.protocol != transfer::TRANSFER_PROTOCOL {
        out.push(format!(
            "the history is not {}",
            transfer::TRANSFER_PROTOCOL
        ));
    }
    if history.code != code || history.unit_hash != unit_hash {
        out.push("the history is of another unit".into());
    }
    for (i, t) in history.transfers.iter().enumerate() {
        let n = i + 1;
        let r = &t.record;
        if r.protocol != transfer::TRANSFER_PROTOCOL || r.code != code || r.unit_hash != unit_hash {
            out.push(format!(
                "record {n} is not a {} record of this unit",
                transfer::TRANSFER_PROTOCOL
            ));
        }
        let mut hexes = vec![
            ("to", r.to.as_str(), 64),
            ("transfer_hash", t.transfer_hash.as_str(), 64),
            ("signer", t.signer.as_str(), 40),
            ("signature", t.signature.as_str(), 130),
        ];
        if let Some(from) = &r.from {
            hexes.push(("from", from, 64));
        }
        if let Some(previous) = &r.previous {
            hexes.push(("previous", previous, 64));
        }
        if let Some(a) = &t.anchor {
            hexes.extend([
                ("leaf", a.leaf.as_str(), 64),
                ("root", a.root.as_str(), 64),
                ("tx_hash", a.tx_hash.as_str(), 64),
                ("contract_address", a.contract_address.as_str(), 40),
            ]);
            if a.proof.iter().any(|p| !product::is_lower_hex(p, 64)) {
                out.push(format!(
                    "record {n}: a proof step is not 0x and 64 lowercase hex digits"
                ));
            }
            if block_seconds(&a.block_time).is_none() {
                out.push(format!(
                    "record {n}: `block_time` is not YYYY-MM-DDTHH:MM:SSZ"
                ));
            }
        }
        for (name, value, digits) in hexes {
            if !product::is_lower_hex(value, digits) {
                out.push(format!(
                    "record {n}: `{name}` is not 0x and {digits} lowercase hex digits"
                ));
            }
        }
        if block_seconds(&r.created_at).is_none() {
            out.push(format!(
                "record {n}: `created_at` is not YYYY-MM-DDTHH:MM:SSZ"
            ));
        }
        if ![transfer::KIND_RAFFLE_WIN, transfer::KIND_TRANSFER].contains(&r.kind.as_str()) {
            out.push(format!(
                "record {n}: kind {:?} is not raffle_win or transfer",
                r.kind
            ));
        }
    }
    out
}

/// Checks a unit's history of owners as `docs/PROTOCOLS.md` §9.4 says, for the unit whose
/// record hashes to `unit_hash` and whose code is `code` (from a verified unit proof): every
/// record's form, the links from the first record to the last, hashes, typed data and the
/// platform's signatures, each record's anchoring settled C deep, and that each signer was
/// allowed to anchor by the registry when its record was anchored. Every check runs.
pub async fn verify_history(
    history: &History,
    unit_hash: &str,
    code: &str,
    trust: &Trust,
) -> Verdict {
    let mut v = Verdict {
        checks: Vec::new(),
        empty_raffle: false,
    };
    let n = history.transfers.len();
    let form = history_form(history, unit_hash, code);
    v.push(
        "owner form",
        form.is_empty(),
        if form.is_empty() {
            format!("{n} record(s) of unit {code}")
        } else {
            form.join("; ")
        },
    );

    // Hashes, then links: record 1 is a first record, each later one follows the one before.
    let hashes: Vec<Option<B256>> = history
        .transfers
        .iter()
        .map(|t| {
            let (_, h) = t.record.hash();
            (h.to_string() == t.transfer_hash).then_some(h)
        })
        .collect();
    let bad_hash: Vec<String> = (1..=n)
        .filter(|i| hashes[i - 1].is_none())
        .map(|i| i.to_string())
        .collect();
    v.push(
        "owner hashes",
        bad_hash.is_empty(),
        if bad_hash.is_empty() {
            "sha256(JCS(record)) is transfer_hash for every record".to_owned()
        } else {
            format!(
                "record(s) {} do not hash to their transfer_hash",
                bad_hash.join(", ")
            )
        },
    );
    let mut broken = Vec::new();
    for (i, t) in history.transfers.iter().enumerate() {
        let ok = match i {
            0 => t.record.is_first(),
            _ => {
                let prev = &history.transfers[i - 1];
                parse_b256(&prev.transfer_hash)
                    .is_some_and(|h| prev.record.is_followed_by(h, &t.record))
            }
        };
        if !ok {
            broken.push((i + 1).to_string());
        }
    }
    v.push(
        "owner links",
        broken.is_empty(),
        if broken.is_empty() {
            "record 1 is the first owner; each later record names the one before and its owner"
                .to_owned()
        } else {
            format!(
                "record(s) {} do not follow the record before",
                broken.join(", ")
            )
        },
    );

    // Typed data and signatures.
    let mut typed_bad = Vec::new();
    let mut sig_bad = Vec::new();
    for (i, t) in history.transfers.iter().enumerate() {
        let message =
            parse_b256(&t.transfer_hash).and_then(|h| transfer::typed_message(h, &t.record));
        if !message
            .as_ref()
            .is_some_and(|m| t.eip712 == transfer::typed_data_json(m, trust.chain_id))
        {
            typed_bad.push((i + 1).to_string());
        }
        let signature = t
            .signature
            .strip_prefix("0x")
            .and_then(|h| hex::decode(h).ok())
            .unwrap_or_default();
        let signed = match (&message, t.signer.parse::<Address>()) {
            (Some(m), Ok(signer)) => {
                transfer::check_signature(m, trust.chain_id, &signature, signer).is_ok()
            }
            _ => false,
        };
        if !signed {
            sig_bad.push((i + 1).to_string());
        }
    }
    v.push(
        "owner typed data",
        typed_bad.is_empty(),
        if typed_bad.is_empty() {
            "eip712 is each record's Transfer typed data on the trusted chain".to_owned()
        } else {
            format!(
                "record(s) {}: eip712 is not the record's typed data",
                typed_bad.join(", ")
            )
        },
    );
    v.push(
        "owner signatures",
        sig_bad.is_empty(),
        if sig_bad.is_empty() {
            "every record is signed by its signer".to_owned()
        } else {
            format!(
                "record(s) {}: the signature does not recover the signer",
                sig_bad.join(", ")
            )
        },
    );

    // Anchoring: trusted registry, Merkle path, then the chain.
    let untrusted: Vec<String> = history
        .transfers
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            t.anchor.as_ref().is_some_and(|a| {
                a.chain_id != trust.chain_id
                    || a.contract_address != format!("{:#x}", trust.registry)
            })
        })
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    v.push(
        "owner registry",
        untrusted.is_empty(),
        if untrusted.is_empty() {
            format!(
                "anchorings name chain {} registry {:#x}",
                trust.chain_id, trust.registry
            )
        } else {
            format!(
                "record(s) {} name another chain or registry",
                untrusted.join(", ")
            )
        },
    );
    let mut path_bad = Vec::new();
    for (i, t) in history.transfers.iter().enumerate() {
        let Some(a) = &t.anchor else { continue };
        let steps: Option<Vec<[u8; 32]>> =
            a.proof.iter().map(|p| parse_b256(p).map(|b| b.0)).collect();
        let ok = match (hashes[i], parse_b256(&a.leaf), parse_b256(&a.root), steps) {
            (Some(h), Some(leaf), Some(root), Some(steps)) => {
                merkle::leaf(&h.0) == leaf.0 && merkle::verify(&leaf.0, &steps, &root.0)
            }
            _ => false,
        };
        if !ok {
            path_bad.push((i + 1).to_string());
        }
    }
    v.push(
        "owner proofs",
        path_bad.is_empty(),
        if path_bad.is_empty() {
            "each anchored record's path reaches its root".to_owned()
        } else {
            format!(
                "record(s) {}: the path does not reach the root",
                path_bad.join(", ")
            )
        },
    );
    let Some(chain) = connect(&mut v, trust, "owner chain id").await else {
        return v;
    };
    let head = match chain.block_number().await {
        Ok(head) => head,
        Err(e) => {
            v.push("owners anchored", false, format!("RPC unreachable: {e:#}"));
            return v;
        }
    };
    let settled = trust.settled_block(head);
    let mut unanchored = Vec::new();
    let mut not_allowed = Vec::new();
    for (i, t) in history.transfers.iter().enumerate() {
        let n = (i + 1).to_string();
        let (Some(a), Some(settled)) = (&t.anchor, settled) else {
            unanchored.push(n);
            continue;
        };
        let at = match parse_b256(&a.root) {
            Some(root) => chain.reading_at(settled).anchored_at(root).await.ok(),
            None => None,
        };
        if at.is_none_or(|at| at == 0 || Some(at) != block_seconds(&a.block_time)) {
            unanchored.push(n.clone());
        }
        // The signer was allowed to anchor when the record's batch was anchored; a node that
        // keeps no state that old (not an archive node) is asked about the settled block.
        let allowed = match t.signer.parse::<Address>() {
            Ok(signer) => match chain.reading_at(a.block_number).is_anchorer(signer).await {
                Ok(allowed) => allowed,
                Err(_) => chain
                    .reading_at(settled)
                    .is_anchorer(signer)
                    .await
                    .unwrap_or(false),
            },
            Err(_) => false,
        };
        if !allowed {
            not_allowed.push(n);
        }
    }
    v.push(
        "owners anchored",
        unanchored.is_empty(),
        if unanchored.is_empty() {
            format!(
                "every record's root is anchored at its block time, settled {} confirmation(s) deep",
                trust.confirmations.max(1)
            )
        } else {
            format!(
                "record(s) {} are not anchored at their block time, {} confirmation(s) deep (yet)",
                unanchored.join(", "),
                trust.confirmations.max(1)
            )
        },
    );
    v.push(
        "owner signer",
        not_allowed.is_empty(),
        if not_allowed.is_empty() {
            "every signer is an anchorer of the trusted registry at its record's anchoring"
                .to_owned()
        } else {
            format!(
                "record(s) {}: the signer is not an anchorer of the trusted registry then",
                not_allowed.join(", ")
            )
        },
    );
    v
}
