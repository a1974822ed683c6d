//! Units (`docs/UNITS.md`): a limited edition of N is N units, serial 1 to N, each with a public
//! code that its QR label carries. The seller issues an edition's units once; the platform signs
//! the edition's unit set with the seller's custodial key (`truffle.units/1`) and anchors it with
//! the product records, so that anyone holding a label can check the unit against the chain.

pub mod labels;
pub mod owners;
pub mod routes;
pub mod store;

use std::sync::Arc;

use alloy::primitives::{Address, B256, hex};
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::CurrentUser;
use crate::catalogue::{Catalogue, ChainStatus};
use crate::chain::outbox::{self, AnchorInfo, AnchorState};
use crate::cpu::CpuPool;
use crate::http::Refuse as _;
use crate::protocol::merkle;
use crate::protocol::unit::{self, UnitProof, UnitRecord, UnitsRecord};

pub use owners::{OfferStatus, Report};

/// The largest edition whose units can be issued: each unit keeps its Merkle path (about
/// 17 × 32 bytes at this size), so the table grows with N log N.
pub const MAX_UNITS: u32 = 100_000;

/// What can go wrong with units. The HTTP boundary (`routes.rs`) gives each its code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] crate::http::Invalid),
    #[error("no such product or unit")]
    NotFound,
    #[error("only the product's seller may do this")]
    NotSeller,
    #[error("the edition's units are issued already")]
    AlreadyIssued,
    #[error("the edition's units are not issued yet")]
    NotIssued,
    #[error("the edition is larger than {MAX_UNITS} units")]
    EditionTooLarge,
    /// The seller signs with their own wallet; units are signed with the custodial key only.
    #[error("units need the seller's custodial key")]
    NeedsCustodialKey,
    /// The product's current record is not signed yet, or was revoked.
    #[error("the product record is not signed, or is revoked")]
    ProductNotReady,
    #[error("the unit set is not anchored on chain yet")]
    NotAnchoredYet,
    /// Ownership records are signed with the anchoring key, which this server was not given.
    #[error("no anchoring key to sign ownership records with")]
    NoAttester,
    #[error("the order is not shipped")]
    OrderNotShipped,
    #[error("the unit has an owner already, or the order has its unit")]
    AlreadyOwned,
    #[error("only the unit's owner may do this")]
    NotOwner,
    #[error("the unit is reported lost or stolen")]
    Reported,
    #[error("no account has this email")]
    RecipientNotFound,
    #[error("the recipient has not verified their identity")]
    RecipientNotVerified,
    #[error("the unit has an open offer already")]
    OfferPending,
    #[error("the offer is not open")]
    OfferNotPending,
    #[error(transparent)]
    Overloaded(#[from] crate::cpu::Overloaded),
    #[error(transparent)]
    Catalogue(#[from] crate::catalogue::Error),
    #[error("corrupt units row: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// The product's GTIN: 8, 12, 13 or 14 digits whose last is the GS1 mod-10 check digit of
    /// the others (format `gtin`). With it, labels carry GS1 Digital Link URIs.
    #[schema(
        example = "09521234543213",
        format = "gtin",
        pattern = r"^([0-9]{8}|[0-9]{12,14})$"
    )]
    pub gtin: Option<String>,
}

/// An edition's issued units, as its seller sees them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnitSet {
    pub product_id: Uuid,
    pub edition_size: u32,
    pub gtin: Option<String>,
    /// The `truffle.units/1` record, as signed.
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
    pub content_hash: String,
    /// Where the unit set stands on its way to the chain.
    pub chain: ChainStatus,
    /// The printable label sheet (seller only).
    pub labels_url: String,
}

/// One unit as anyone holding its code sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnitView {
    pub code: String,
    pub serial: u32,
    pub edition_size: u32,
    pub product_id: Uuid,
    pub product_name: String,
    pub brand: String,
    /// The URL its label's QR code carries.
    pub url: String,
    /// Where the edition's unit set stands on its way to the chain.
    pub chain: ChainStatus,
    /// Where to fetch the unit's proof, once anchored.
    pub proof_url: String,
    /// The product's own proof bundle.
    pub product_proof_url: String,
    /// Client address prefixes (/24 IPv4, /64 IPv6) its label was scanned from within the clone
    /// window (`UNIT_CLONE_WINDOW`).
    pub scanned_from_places: u32,
    /// Scanned from `UNIT_CLONE_PLACES` places or more within the window: a copy of its label
    /// may be on another piece. A warning to check, not a verdict.
    pub clone_suspected: bool,
    /// When it was last flagged so (its seller and owner were told then).
    pub clone_flagged_at: Option<chrono::DateTime<Utc>>,
    /// How many records its history of owners has (0 before its first owner).
    pub transfers: u32,
    /// Where its history of owners is (`truffle.transfer/1` records and their proofs).
    pub history_url: String,
    /// Its owner's open report that it is lost or stolen.
    pub report: Option<Report>,
}

/// The place a scan comes from: an IPv4 address by its /24, an IPv6 address by its /64 (so one
/// phone, one shop's network or one carrier's pool of addresses is one place).
pub fn place_of(ip: std::net::IpAddr) -> String {
    use ipnet::{IpNet, Ipv4Net};
    match crate::ratelimit::address_prefix(ip) {
        IpNet::V4(v4) => Ipv4Net::new(v4.addr(), 24)
            .expect("24 is a valid prefix")
            .trunc()
            .to_string(),
        v6 => v6.to_string(),
    }
}

/// What clone detection counts: how many places within how long make a unit suspect.
#[derive(Debug, Clone, Copy)]
pub struct CloneRule {
    pub places: u32,
    pub window: std::time::Duration,
}

#[derive(Clone)]
pub struct Units(Arc<UnitsInner>);

pub struct UnitsInner {
    db: PgPool,
    catalogue: Catalogue,
    cpu: CpuPool,
    chain_id: u64,
    registry: Option<Address>,
    public_base_url: String,
    clones: CloneRule,
    /// Signs ownership records: the anchoring key, which the registry allows (`isAnchorer`).
    attester: Option<alloy::signers::local::PrivateKeySigner>,
    /// The key of owners' pseudonyms.
    owner_key: Vec<u8>,
}

/// What the units domain is configured with.
pub struct Settings {
    pub chain_id: u64,
    pub registry: Option<Address>,
    /// Where labels point (`PUBLIC_BASE_URL`).
    pub public_base_url: String,
    pub clones: CloneRule,
    /// The anchoring key, which signs ownership records; `None` without chain settings.
    pub attester: Option<alloy::signers::local::PrivateKeySigner>,
    /// The key of owners' pseudonyms (a server secret).
    pub owner_key: Vec<u8>,
}

/// Erasure's step: the open transfer offers made by or to the account end (cancelled). The
/// units it holds stay in its name, as its orders do; their records name only a pseudonym.
pub async fn forget(conn: &mut sqlx::PgConnection, user_id: Uuid) -> sqlx::Result<()> {
    store::cancel_offers_of(conn, user_id).await?;
    Ok(())
}

/// The key of owners' pseudonyms, derived from the server's person key under its own label.
pub fn derive_owner_key(server_secret: &[u8]) -> Vec<u8> {
    crate::crypto::hmac_sha256(server_secret, &[b"truffle.owner-key/1"])
}

impl std::ops::Deref for Units {
    type Target = UnitsInner;
    fn deref(&self) -> &UnitsInner {
        &self.0
    }
}

fn b256(bytes: &[u8]) -> Result<B256, Error> {
    <[u8; 32]>::try_from(bytes)
        .map(B256::from)
        .map_err(|_| Error::Corrupt("a hash is not 32 bytes".into()))
}

fn chain_status(state: Option<AnchorState>) -> ChainStatus {
    match state {
        None | Some(AnchorState::Pending) => ChainStatus::Pending,
        Some(AnchorState::Anchored) => ChainStatus::Anchored,
        Some(AnchorState::Confirmed) => ChainStatus::Confirmed,
    }
}

impl Units {
    pub fn new(db: PgPool, catalogue: Catalogue, cpu: CpuPool, settings: Settings) -> Self {
        Units(Arc::new(UnitsInner {
            db,
            catalogue,
            cpu,
            chain_id: settings.chain_id,
            registry: settings.registry,
            public_base_url: settings.public_base_url,
            clones: settings.clones,
            attester: settings.attester,
            owner_key: settings.owner_key,
        }))
    }

    /// Counts a scan of a unit's label from `address_prefix`; past the clone rule, flags the unit
    /// and tells its seller, once a window. Unknown codes count nothing.
    pub async fn scan(&self, code: &str, address_prefix: &str) -> Result<(), Error> {
        if !unit::is_code(code) || store::find_unit(&self.db, code).await?.is_none() {
            return Ok(());
        }
        let window = self.clones.window;
        let places = store::record_scan(&self.db, code, address_prefix, window).await?;
        if places < i64::from(self.clones.places) {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        if let Some(seller) = store::flag_clone(&mut *tx, code, window).await? {
            let view = self.unit(code).await?;
            // The seller and, when it has one, the owner.
            let owner = store::owner_of(&mut *tx, code).await?;
            for user in std::iter::once(seller).chain(owner.filter(|o| *o != seller)) {
                crate::notify::push(
                    &mut *tx,
                    user,
                    "unit_clone_suspected",
                    "복제 라벨 의심",
                    &format!(
                        "{} No. {} / {}의 라벨이 짧은 시간에 {places}곳에서 스캔되었습니다. 라벨이 복제되었을 수 있습니다.",
                        view.product_name, view.serial, view.edition_size
                    ),
                    serde_json::json!({"code": code, "product_id": view.product_id, "serial": view.serial, "places": places}),
                )
                .await
                .map_err(|crate::notify::Error::Db(e)| Error::Db(e))?;
            }
            tracing::warn!(code, places, "unit label scanned from many places: flagged");
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the label scans last seen before the clone window: they count for nothing any
    /// more. Returns how many went.
    pub async fn purge_scans(&self) -> Result<u64, Error> {
        Ok(store::purge_scans(&self.db, self.clones.window).await?)
    }

    /// Where labels point (`PUBLIC_BASE_URL`).
    pub fn public_base_url(&self) -> &str {
        &self.public_base_url
    }

    /// The URL a unit's label carries: a GS1 Digital Link when the edition has a GTIN.
    pub fn unit_url(&self, code: &str, gtin: Option<&str>) -> String {
        match gtin {
            Some(gtin) => format!("{}/01/{gtin}/21/{code}", self.public_base_url),
            None => format!("{}/u/{code}", self.public_base_url),
        }
    }

    /// Issues the units of a product's edition, once: N codes, N unit records, their tree, and
    /// the unit set signed with the seller's custodial key and put in the anchoring outbox, in
    /// one transaction.
    pub async fn issue(
        &self,
        user: &CurrentUser,
        product_id: Uuid,
        req: IssueRequest,
    ) -> Result<UnitSet, Error> {
        let gtin = req
            .gtin
            .as_deref()
            .map(|g| {
                unit::gtin14(g.trim()).ok_or_else(|| {
                    Error::invalid(
                        "gtin",
                        "must be 8, 12, 13 or 14 digits with a valid check digit.",
                    )
                })
            })
            .transpose()?;
        let product = self.catalogue.product(product_id).await?;
        if product.seller_id != user.id {
            return Err(Error::NotSeller);
        }
        if product.revoked_at.is_some() {
            return Err(Error::ProductNotReady);
        }
        let (product_hash, record) = self
            .catalogue
            .current_signed_record(product_id)
            .await?
            .ok_or(Error::ProductNotReady)?;
        let n = record.edition_size;
        if n > MAX_UNITS {
            return Err(Error::EditionTooLarge);
        }
        if store::find_set(&self.db, product_id).await?.is_some() {
            return Err(Error::AlreadyIssued);
        }
        // Codes, records, hashes and the tree: CPU work, off the runtime.
        let (units, root) = self
            .cpu
            .run(move || {
                let records: Vec<UnitRecord> = (1..=n)
                    .map(|serial| UnitRecord::new(product_id, serial, n, unit::new_code()))
                    .collect();
                let tree = unit::units_tree(&records).expect("an edition has a unit");
                let rows: Vec<store::NewUnit> = records
                    .into_iter()
                    .map(|r| {
                        let hash = r.content_hash();
                        let proof = tree
                            .proof(&merkle::leaf(&hash.0))
                            .expect("every unit is in the tree")
                            .concat();
                        store::NewUnit {
                            code: r.code,
                            serial: r.serial,
                            content_hash: hash.to_vec(),
                            proof,
                        }
                    })
                    .collect();
                (rows, B256::from(tree.root()))
            })
            .await?;
        let set = UnitsRecord {
            protocol: unit::UNITS_PROTOCOL.into(),
            product_id,
            product_content_hash: product_hash.to_string(),
            edition_size: n,
            gtin: gtin.clone(),
            units_root: root.to_string(),
            seller_address: record.seller_address.clone(),
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        };
        let (canonical, hash) = set.hash();
        let message = unit::typed_message(hash, &set)
            .ok_or_else(|| Error::Corrupt("the unit set's hashes do not parse".into()))?;
        let digest = unit::signing_hash(&message, self.chain_id);

        let mut tx = self.db.begin().await?;
        let (address, signature) = self
            .catalogue
            .sign_as_seller(&mut tx, user.id, digest)
            .await?
            .ok_or(Error::NeedsCustodialKey)?;
        if address != set.seller_address {
            // The seller's key changed since the product record was signed.
            return Err(Error::ProductNotReady);
        }
        let inserted = store::insert_set(
            &mut *tx,
            store::NewUnitSet {
                product_id,
                content_hash: hash.as_slice(),
                canonical: &canonical,
                product_content_hash: product_hash.as_slice(),
                units_root: root.as_slice(),
                edition_size: n,
                gtin: gtin.as_deref(),
                signature: &signature,
            },
        )
        .await?;
        if !inserted {
            return Err(Error::AlreadyIssued);
        }
        store::insert_units(&mut tx, product_id, &units).await?;
        outbox::enqueue(&mut *tx, hash).await?;
        tx.commit().await?;
        self.set(user, product_id).await
    }

    /// A product's issued unit set (its seller only).
    pub async fn set(&self, user: &CurrentUser, product_id: Uuid) -> Result<UnitSet, Error> {
        let product = self.catalogue.product(product_id).await?;
        if product.seller_id != user.id {
            return Err(Error::NotSeller);
        }
        let row = store::find_set(&self.db, product_id)
            .await?
            .ok_or(Error::NotIssued)?;
        let hash = b256(&row.content_hash)?;
        let state = self.anchor_state(hash).await?;
        Ok(UnitSet {
            product_id,
            edition_size: row.edition_size as u32,
            gtin: row.gtin,
            record: serde_json::from_slice(&row.canonical)
                .map_err(|e| Error::Corrupt(format!("stored unit set does not parse: {e}")))?,
            content_hash: hash.to_string(),
            chain: state,
            labels_url: format!("/v1/products/{product_id}/units/labels.svg"),
        })
    }

    /// One unit by its code (anyone holding it).
    pub async fn unit(&self, code: &str) -> Result<UnitView, Error> {
        let (unit, set) = self.unit_and_set(code).await?;
        let product = self.catalogue.product(unit.product_id).await?;
        let state = self.anchor_state(b256(&set.content_hash)?).await?;
        let places = store::places(&self.db, &unit.code, self.clones.window).await?;
        let clone_flagged_at = store::clone_flagged_at(&self.db, &unit.code).await?;
        let owned = store::owned(&self.db, &unit.code)
            .await?
            .ok_or(Error::NotFound)?;
        let transfers = store::transfers_count(&self.db, &unit.code).await?;
        Ok(UnitView {
            transfers: u32::try_from(transfers).unwrap_or(u32::MAX),
            history_url: format!("/v1/units/{}/history", unit.code),
            report: owners::report_of(&owned),
            scanned_from_places: u32::try_from(places).unwrap_or(u32::MAX),
            clone_suspected: places >= i64::from(self.clones.places),
            clone_flagged_at,
            url: self.unit_url(&unit.code, set.gtin.as_deref()),
            proof_url: format!("/v1/units/{}/proof", unit.code),
            product_proof_url: format!("/v1/products/{}/proof", unit.product_id),
            code: unit.code,
            serial: unit.serial as u32,
            edition_size: set.edition_size as u32,
            product_id: unit.product_id,
            product_name: product.record.name,
            brand: product.record.brand,
            chain: if product.revoked_at.is_some() {
                ChainStatus::Revoked
            } else {
                state
            },
        })
    }

    /// Where a unit set's hash stands in the anchoring outbox.
    async fn anchor_state(&self, hash: B256) -> Result<ChainStatus, Error> {
        let state = outbox::status_of(&self.db, &[hash])
            .await?
            .remove(&hash)
            .map(|i| i.state);
        Ok(chain_status(state))
    }

    /// For the GS1 Digital Link form: `not_found` unless the code is of an edition with this
    /// GTIN.
    pub async fn check_gtin(&self, gtin: &str, code: &str) -> Result<(), Error> {
        let (_, set) = self.unit_and_set(code).await?;
        match (unit::gtin14(gtin), set.gtin) {
            (Some(asked), Some(issued)) if asked == issued => Ok(()),
            _ => Err(Error::NotFound),
        }
    }

    async fn unit_and_set(&self, code: &str) -> Result<(store::UnitRow, store::SetRow), Error> {
        if !unit::is_code(code) {
            return Err(Error::NotFound);
        }
        let unit = store::find_unit(&self.db, code)
            .await?
            .ok_or(Error::NotFound)?;
        let set = store::find_set(&self.db, unit.product_id)
            .await?
            .ok_or_else(|| Error::Corrupt("a unit without its set".into()))?;
        Ok((unit, set))
    }

    /// A unit's proof, once its unit set is anchored (`not_anchored_yet` before).
    pub async fn proof(&self, code: &str) -> Result<UnitProof, Error> {
        let (row, set) = self.unit_and_set(code).await?;
        let hash = b256(&set.content_hash)?;
        let info = outbox::status_of(&self.db, &[hash]).await?.remove(&hash);
        let (Some(at), Some(registry)) = (info.and_then(AnchorInfo::published), self.registry)
        else {
            return Err(Error::NotAnchoredYet);
        };
        let units: UnitsRecord = serde_json::from_slice(&set.canonical)
            .map_err(|e| Error::Corrupt(format!("stored unit set does not parse: {e}")))?;
        let record = UnitRecord::new(
            row.product_id,
            row.serial as u32,
            set.edition_size as u32,
            row.code,
        );
        let message = unit::typed_message(hash, &units)
            .ok_or_else(|| Error::Corrupt("the unit set's hashes do not parse".into()))?;
        Ok(UnitProof {
            protocol: unit::UNIT_PROTOCOL.into(),
            unit_hash: record.content_hash().to_string(),
            unit: record,
            unit_proof: outbox::split_proof(&row.proof)
                .iter()
                .map(|p| p.to_string())
                .collect(),
            units: serde_json::from_slice(&set.canonical)
                .map_err(|e| Error::Corrupt(format!("stored unit set does not parse: {e}")))?,
            units_hash: hash.to_string(),
            signature: hex::encode_prefixed(&set.signature),
            eip712: unit::typed_data_json(&message, self.chain_id),
            leaf: at.leaf.to_string(),
            proof: at.proof.iter().map(|p| p.to_string()).collect(),
            root: at.root.to_string(),
            chain_id: self.chain_id,
            contract_address: format!("{registry:#x}"),
            tx_hash: at.tx_hash.to_string(),
            block_number: at.block_number,
            block_time: at.block_time.to_rfc3339_opts(SecondsFormat::Secs, true),
        })
    }

    /// The printable label sheet of a product's units (its seller only): an SVG page of QR
    /// codes with their serials, `serials` at most [`labels::PER_SHEET`] of them.
    pub async fn labels(
        &self,
        user: &CurrentUser,
        product_id: Uuid,
        from: u32,
    ) -> Result<String, Error> {
        let product = self.catalogue.product(product_id).await?;
        if product.seller_id != user.id {
            return Err(Error::NotSeller);
        }
        let set = store::find_set(&self.db, product_id)
            .await?
            .ok_or(Error::NotIssued)?;
        let n = set.edition_size as u32;
        if from == 0 || from > n {
            return Err(Error::invalid("from", &format!("must be 1 to {n}.")));
        }
        let to = from.saturating_add(labels::PER_SHEET - 1).min(n);
        let codes = store::codes(&self.db, product_id, from, to).await?;
        let labels: Vec<labels::Label> = codes
            .into_iter()
            .map(|(serial, code)| labels::Label {
                url: self.unit_url(&code, set.gtin.as_deref()),
                serial: serial as u32,
                code,
            })
            .collect();
        let title = format!("{} — {}", product.record.brand, product.record.name);
        let edition = n;
        self.cpu
            .run(move || labels::sheet(&title, edition, &labels))
            .await?
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_place_is_an_ipv4_slash_24_or_an_ipv6_slash_64() {
        let place = |s: &str| super::place_of(s.parse().unwrap());
        assert_eq!(place("198.51.100.7"), "198.51.100.0/24");
        assert_eq!(place("198.51.100.250"), place("198.51.100.7"));
        assert_ne!(place("198.51.101.7"), place("198.51.100.7"));
        assert_eq!(place("::ffff:198.51.100.7"), "198.51.100.0/24");
        assert_eq!(place("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
    }
}
