//! The catalogue (product description §10, `docs/PRODUCT.md`): sellers register limited editions; every version of a
//! product is a `truffle.product/1` record, signed by the seller's key (custodial or their own
//! wallet) and put in the anchoring outbox. Reads are public; delisting hides a product while its
//! anchored records stay verifiable; revocation marks records revoked on chain.

pub mod custody;
pub mod routes;
pub mod store;

pub use store::{ProductFacts, facts as product_facts};

use std::collections::HashMap;
use std::sync::Arc;

use alloy::primitives::{Address, B256, hex};
use alloy::signers::local::PrivateKeySigner;
use chrono::{DateTime, SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Array, ArrayBuilder, ObjectBuilder, SchemaType, Type};
use uuid::Uuid;

use crate::accounts::person::{clean_multiline, clean_text};
use crate::chain::outbox::{self, AnchorInfo, AnchorState};
use crate::http::Refuse as _;
use crate::http::snapshot::{Snapshot, Snapshots};
use crate::protocol::bundle::ProofBundle;
use crate::protocol::product::{self, Record};
use store::{ProductRow, SellerKey};

/// Korean days: views are counted per day in Korea.
pub fn korea_today() -> chrono::NaiveDate {
    let kst = chrono::FixedOffset::east_opt(9 * 3600).expect("UTC+9 is a valid offset");
    Utc::now().with_timezone(&kst).date_naive()
}

/// What can go wrong in the catalogue. The HTTP boundary (`routes.rs`) gives each its code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of a product, a patch or a signature is not acceptable.
    #[error(transparent)]
    Invalid(#[from] crate::http::Invalid),
    #[error("no such product")]
    NotFound,
    /// Someone other than the product's seller tried to change it.
    #[error("only the product's seller may change it")]
    NotSeller,
    /// Someone other than the product's seller tried to sign one of its versions.
    #[error("only the product's seller may sign it")]
    NotSigner,
    /// Someone neither the product's seller nor an admin tried to delist or revoke it.
    #[error("only the product's seller or an admin may do this")]
    NotOwnerOrAdmin,
    /// The product is delisted: it takes no new versions.
    #[error("the product is delisted")]
    Delisted,
    /// The product was revoked, which is final: it cannot change.
    #[error("the product was revoked")]
    Revoked,
    /// A revocation of a product already revoked.
    #[error("the product is already revoked")]
    AlreadyRevoked,
    /// A smaller edition than the winners the product's raffles already allot.
    #[error("raffles already promise {promised} pieces of this edition")]
    EditionBelowPromised { promised: i64 },
    /// The version is signed already (or was signed while this signature was checked).
    #[error("the record version is already signed")]
    SignatureNotAwaited,
    /// A wallet signature that does not check out; the detail says why.
    #[error("the signature is not valid: {0}")]
    SignatureInvalid(String),
    /// The record's batch is not in a block yet (or its block's time is not recorded yet).
    #[error("the record is not anchored on chain yet")]
    NotAnchoredYet,
    /// A custodial key could not be made, opened or used.
    #[error("custodial signing key: {0:#}")]
    Key(anyhow::Error),
    /// A stored row holds a value the code cannot read.
    #[error("corrupt catalogue row: {0}")]
    Corrupt(String),
    /// The accounts domain refused or failed.
    #[error(transparent)]
    Accounts(#[from] crate::accounts::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Account erasure's step in the catalogue: the person's product views are forgotten.
pub async fn forget(tx: &mut PgConnection, user: Uuid) -> Result<(), Error> {
    Ok(store::forget_views(&mut *tx, user).await?)
}

#[derive(Clone)]
pub struct Catalogue(Arc<CatalogueInner>);

pub struct CatalogueInner {
    pub db: PgPool,
    /// The chain records are signed for (EIP-712 domain).
    pub chain_id: u64,
    /// The registry that anchors them, when anchoring is configured.
    pub registry: Option<Address>,
    master_key: SecretBox<Vec<u8>>,
    /// What the domains above have promised of each edition (raffles: their winners).
    promises: Arc<dyn EditionPromises>,
    /// Public product answers, kept for `PUBLIC_SNAPSHOT_TTL`: a change (a new version, its
    /// anchoring, a delisting) shows within twice that.
    snapshots: Snapshots<Uuid>,
}

/// What domains above the catalogue have promised of an edition, asked in the catalogue's
/// transaction before an edition shrinks: raffles answer with the winners they allot. Offered
/// by the raffles domain and wired in `app.rs`, so that the catalogue never calls up into it.
#[async_trait::async_trait]
pub trait EditionPromises: Send + Sync {
    /// Pieces of the product's edition already promised.
    async fn pieces_promised(&self, tx: &mut PgConnection, product: Uuid) -> sqlx::Result<i64>;
}

impl std::ops::Deref for Catalogue {
    type Target = CatalogueInner;
    fn deref(&self) -> &CatalogueInner {
        &self.0
    }
}

/// What a seller says about a product; the server builds the record from it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    #[schema(
        example = "나이키 덩크 로우 레트로 판다",
        min_length = 1,
        max_length = 200
    )]
    pub name: String,
    #[schema(example = "Nike", min_length = 1, max_length = 100)]
    pub brand: String,
    #[schema(example = "sneakers", min_length = 1, max_length = 50)]
    pub category: String,
    #[schema(example = 500, minimum = 1, maximum = 1000000)]
    pub edition_size: u32,
    #[schema(example = 129000, maximum = 1000000000000_u64)]
    pub retail_price_krw: u64,
    /// Several lines are fine; at most 5000 characters.
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub description: String,
    #[schema(example = "DD1391-100", min_length = 1, max_length = 64)]
    pub sku: Option<String>,
    /// sha256 of each image, 64 hex digits (with or without 0x); at most 20.
    #[serde(default)]
    #[schema(schema_with = image_list_schema)]
    pub image_sha256s: Vec<String>,
    /// Search keywords (at most 10, each 1 to 30 characters). Listing data, not part of the
    /// signed record: changing them makes no new version.
    #[serde(default)]
    #[schema(schema_with = tag_list_schema)]
    pub tags: Vec<String>,
}

/// `image_sha256s` as the document states it.
fn image_list_schema() -> Array {
    image_list(SchemaType::Type(Type::Array))
}

fn nullable_image_list_schema() -> Array {
    image_list(SchemaType::Array(vec![Type::Array, Type::Null]))
}

fn image_list(kind: SchemaType) -> Array {
    let sha256 = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^(0x)?[0-9a-fA-F]{64}$"));
    ArrayBuilder::new()
        .schema_type(kind)
        .items(sha256)
        .max_items(Some(20))
        .build()
}

/// `tags` as the document states it (the text rule's pattern is added with the others).
fn tag_list_schema() -> Array {
    tag_list(SchemaType::Type(Type::Array))
}

fn nullable_tag_list_schema() -> Array {
    tag_list(SchemaType::Array(vec![Type::Array, Type::Null]))
}

fn tag_list(kind: SchemaType) -> Array {
    let tag = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(30));
    ArrayBuilder::new()
        .schema_type(kind)
        .items(tag)
        .max_items(Some(10))
        .examples([serde_json::json!(["한정판", "판다"])])
        .build()
}

/// Where a product's current record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChainStatus {
    /// A wallet seller has not signed this version yet.
    AwaitingSignature,
    /// Signed, waiting for its batch to be anchored.
    Pending,
    /// Its batch root is in a block.
    Anchored,
    /// Enough blocks on top of the anchoring block.
    Confirmed,
    /// Revoked (counterfeit report or leaked key); verification reports it.
    Revoked,
}

impl ChainStatus {
    /// Its root is in a block (confirmed or not): it can be verified and raffled.
    pub fn is_anchored(self) -> bool {
        matches!(self, ChainStatus::Anchored | ChainStatus::Confirmed)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChainInfo {
    pub status: ChainStatus,
    pub content_hash: String,
    pub root: Option<String>,
    pub tx_hash: Option<String>,
    pub block_number: Option<u64>,
    pub block_time: Option<DateTime<Utc>>,
    /// The anchoring block and the blocks on top of it, as of the worker's last look at the chain.
    pub confirmations: Option<u64>,
    /// Where to fetch the proof bundle, once anchored.
    pub proof_url: Option<String>,
}

/// A product as clients see it: the current record and where it stands on chain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: Uuid,
    pub seller_id: Uuid,
    pub version: u32,
    pub listed: bool,
    pub record: Record,
    pub chain: ChainInfo,
    /// For a wallet seller's unsigned version: the EIP-712 typed data to sign
    /// (`eth_signTypedData_v4`), then `POST /v1/products/{id}/signature`.
    #[schema(value_type = Option<Object>)]
    pub typed_data: Option<serde_json::Value>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
    /// Search keywords; listing data outside the signed record.
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Tags: trimmed, NFC, 1 to 30 characters each, at most 10, duplicates (any case) dropped.
pub fn validated_tags(tags: Vec<String>) -> Result<Vec<String>, Error> {
    if tags.len() > 10 {
        return Err(Error::invalid("tags", "at most 10 tags."));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = clean_text(&tag, 1, 30)
            .ok_or_else(|| Error::invalid("tags", "each must be 1 to 30 characters."))?;
        if !out.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
            out.push(tag);
        }
    }
    Ok(out)
}

fn b256(bytes: &[u8]) -> B256 {
    B256::try_from(bytes).unwrap_or_default()
}

impl ProductInput {
    /// NFC-normalised, bounded, and well-formed; errors name the field.
    pub fn validated(self) -> Result<ProductInput, Error> {
        let text = |field: &str, value: &str, min: usize, max: usize| {
            clean_text(value, min, max).ok_or_else(|| {
                Error::invalid(field, &format!("must be {min} to {max} characters."))
            })
        };
        if self.edition_size == 0 || self.edition_size > 1_000_000 {
            return Err(Error::invalid("edition_size", "must be 1 to 1000000."));
        }
        if self.retail_price_krw > 1_000_000_000_000 {
            return Err(Error::invalid(
                "retail_price_krw",
                "must be at most 1000000000000.",
            ));
        }
        if self.image_sha256s.len() > 20 {
            return Err(Error::invalid("image_sha256s", "at most 20 images."));
        }
        let images = self
            .image_sha256s
            .iter()
            .map(|h| {
                let h = h.trim().trim_start_matches("0x").to_lowercase();
                (h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| format!("0x{h}"))
                    .ok_or_else(|| Error::invalid("image_sha256s", "each must be 64 hex digits."))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let description = clean_multiline(&self.description, 0, 5000)
            .ok_or_else(|| Error::invalid("description", "must be at most 5000 characters."))?;
        Ok(ProductInput {
            name: text("name", &self.name, 1, 200)?,
            brand: text("brand", &self.brand, 1, 100)?,
            category: text("category", &self.category, 1, 50)?,
            edition_size: self.edition_size,
            retail_price_krw: self.retail_price_krw,
            description,
            sku: self.sku.map(|s| text("sku", &s, 1, 64)).transpose()?,
            image_sha256s: images,
            tags: validated_tags(self.tags)?,
        })
    }

    fn record(
        &self,
        product_id: Uuid,
        version: u32,
        previous: Option<B256>,
        seller: &str,
    ) -> Record {
        Record {
            protocol: product::PROTOCOL.into(),
            product_id,
            version,
            previous_content_hash: previous.map(|h| h.to_string()),
            seller_address: seller.to_owned(),
            name: self.name.clone(),
            brand: self.brand.clone(),
            category: self.category.clone(),
            edition_size: self.edition_size,
            retail_price_krw: self.retail_price_krw,
            description: self.description.clone(),
            sku: self.sku.clone(),
            image_sha256s: self.image_sha256s.clone(),
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }

    fn from_record(r: &Record, tags: Vec<String>) -> ProductInput {
        ProductInput {
            name: r.name.clone(),
            brand: r.brand.clone(),
            category: r.category.clone(),
            edition_size: r.edition_size,
            retail_price_krw: r.retail_price_krw,
            description: r.description.clone(),
            sku: r.sku.clone(),
            image_sha256s: r.image_sha256s.clone(),
            tags,
        }
    }
}

/// Fields a PATCH may change; each left out keeps the current value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub brand: Option<String>,
    #[schema(min_length = 1, max_length = 50)]
    pub category: Option<String>,
    #[schema(minimum = 1, maximum = 1000000)]
    pub edition_size: Option<u32>,
    #[schema(maximum = 1000000000000_u64)]
    pub retail_price_krw: Option<u64>,
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    #[schema(min_length = 1, max_length = 64)]
    pub sku: Option<String>,
    #[schema(schema_with = nullable_image_list_schema)]
    pub image_sha256s: Option<Vec<String>>,
    /// Changing only the tags makes no new version.
    #[schema(schema_with = nullable_tag_list_schema)]
    pub tags: Option<Vec<String>>,
}

impl ProductPatch {
    fn only_tags(&self) -> bool {
        let ProductPatch {
            name,
            brand,
            category,
            edition_size,
            retail_price_krw,
            description,
            sku,
            image_sha256s,
            tags,
        } = self;
        tags.is_some()
            && name.is_none()
            && brand.is_none()
            && category.is_none()
            && edition_size.is_none()
            && retail_price_krw.is_none()
            && description.is_none()
            && sku.is_none()
            && image_sha256s.is_none()
    }
}

/// How a seller's records get signed.
enum Signing {
    Custodial(PrivateKeySigner),
    Wallet(String),
}

impl Signing {
    fn address(&self) -> String {
        match self {
            Signing::Custodial(s) => product::address_hex(s.address()),
            Signing::Wallet(a) => a.clone(),
        }
    }
}

impl Catalogue {
    pub fn new(
        db: PgPool,
        chain_id: u64,
        registry: Option<Address>,
        master_key: SecretBox<Vec<u8>>,
        promises: Arc<dyn EditionPromises>,
        snapshot_ttl: std::time::Duration,
    ) -> Self {
        Catalogue(Arc::new(CatalogueInner {
            db,
            chain_id,
            registry,
            master_key,
            promises,
            snapshots: Snapshots::new(snapshot_ttl, 100_000),
        }))
    }

    fn master(&self) -> &[u8] {
        self.master_key.expose_secret()
    }

    /// The seller's signing key, made custodially on first use.
    async fn signing(&self, conn: &mut PgConnection, seller: Uuid) -> Result<Signing, Error> {
        let key = match store::seller_key(&mut *conn, seller).await? {
            Some(key) => key,
            None => {
                let (signer, sealed) =
                    custody::generate(self.master(), seller).map_err(Error::Key)?;
                let address = product::address_hex(signer.address());
                store::insert_seller_key(&mut *conn, seller, "custodial", &address, Some(&sealed))
                    .await?;
                // Re-read: a concurrent first product may have stored its key first.
                store::seller_key(&mut *conn, seller)
                    .await?
                    .ok_or_else(|| Error::Corrupt("seller key vanished".into()))?
            }
        };
        self.signing_from(seller, key)
    }

    fn signing_from(&self, seller: Uuid, key: SellerKey) -> Result<Signing, Error> {
        match (key.signing_mode.as_str(), key.encrypted_key) {
            ("custodial", Some(sealed)) => Ok(Signing::Custodial(
                custody::open(self.master(), seller, &sealed).map_err(Error::Key)?,
            )),
            _ => Ok(Signing::Wallet(key.address)),
        }
    }

    /// Builds, hashes, signs (custodial) and stores version `version` of a product, and puts the
    /// signed record in the anchoring outbox, all in the caller's transaction.
    async fn write_version(
        &self,
        conn: &mut PgConnection,
        seller: Uuid,
        product_id: Uuid,
        version: u32,
        previous: Option<B256>,
        input: &ProductInput,
    ) -> Result<(), Error> {
        let signing = self.signing(conn, seller).await?;
        let record = input.record(product_id, version, previous, &signing.address());
        let (canonical, hash) = record.hash();
        let signature = match &signing {
            Signing::Custodial(signer) => {
                let message =
                    product::typed_message(hash, &record.name, &record.brand, record.edition_size);
                Some(product::sign(signer, &message, self.chain_id).map_err(Error::Key)?)
            }
            Signing::Wallet(_) => None,
        };
        let fields = store::NewProduct {
            id: product_id,
            seller_id: seller,
            name: &input.name,
            brand: &input.brand,
            category: &input.category,
            edition_size: input.edition_size,
            retail_price_krw: input.retail_price_krw,
            tags: &input.tags,
        };
        if version == 1 {
            store::insert_product(&mut *conn, fields).await?;
        }
        store::insert_record(
            &mut *conn,
            store::NewRecord {
                product_id,
                version,
                content_hash: hash.as_slice(),
                canonical: &canonical,
                seller_address: &record.seller_address,
                signature: signature.as_ref().map(|s| s.as_slice()),
            },
        )
        .await?;
        if version > 1 {
            store::set_current_version(&mut *conn, fields, version).await?;
        }
        if signature.is_some() {
            outbox::enqueue(&mut *conn, hash).await?;
        }
        Ok(())
    }

    /// Signs an EIP-712 digest with the seller's custodial key, for a record the seller states
    /// beside their products (an edition's units), in the caller's transaction: the signing
    /// address and the 65-byte signature, or `None` for a seller who signs with their own wallet.
    pub(crate) async fn sign_as_seller(
        &self,
        conn: &mut PgConnection,
        seller: Uuid,
        digest: B256,
    ) -> Result<Option<(String, [u8; 65])>, Error> {
        match self.signing(conn, seller).await? {
            Signing::Custodial(signer) => {
                let sig = alloy::signers::SignerSync::sign_hash_sync(&signer, &digest)
                    .map_err(|e| Error::Key(e.into()))?;
                Ok(Some((
                    product::address_hex(signer.address()),
                    sig.normalized_s().as_bytes(),
                )))
            }
            Signing::Wallet(_) => Ok(None),
        }
    }

    /// The content hash, edition size and seller of a product's current, signed record (`None`
    /// while a wallet seller's signature is awaited).
    pub async fn current_signed_record(&self, id: Uuid) -> Result<Option<(B256, Record)>, Error> {
        let row = store::find_product(&self.db, id)
            .await?
            .ok_or(Error::NotFound)?;
        let rec = store::record(&self.db, id, row.current_version as u32)
            .await?
            .ok_or(Error::NotFound)?;
        if rec.signature.is_none() {
            return Ok(None);
        }
        Ok(Some((
            b256(&rec.content_hash),
            parse_record(&rec.canonical)?,
        )))
    }

    pub async fn create(&self, seller: Uuid, input: ProductInput) -> Result<Product, Error> {
        let input = input.validated()?;
        let id = Uuid::now_v7();
        let mut tx = self.db.begin().await?;
        // A seller whose account is being deleted lists nothing new (deletion delists all).
        crate::accounts::hold_active(&mut tx, seller).await?;
        self.write_version(&mut tx, seller, id, 1, None, &input)
            .await?;
        tx.commit().await?;
        self.product(id).await
    }

    /// A new version of the record; earlier versions and their proofs stay as they are.
    pub async fn update(
        &self,
        seller: Uuid,
        id: Uuid,
        patch: ProductPatch,
    ) -> Result<Product, Error> {
        let mut tx = self.db.begin().await?;
        let row = store::lock_product(&mut *tx, id)
            .await?
            .ok_or(Error::NotFound)?;
        if row.seller_id != seller {
            return Err(Error::NotSeller);
        }
        if row.revoked_at.is_some() {
            return Err(Error::Revoked);
        }
        if !row.listed {
            return Err(Error::Delisted);
        }
        if patch.only_tags() {
            let tags = validated_tags(patch.tags.unwrap_or_default())?;
            store::set_tags(&mut *tx, id, &tags).await?;
            tx.commit().await?;
            return self.product(id).await;
        }
        let current = parse_record(&row.canonical)?;
        let mut input = ProductInput::from_record(&current, row.tags.clone());
        if let Some(v) = patch.name {
            input.name = v;
        }
        if let Some(v) = patch.brand {
            input.brand = v;
        }
        if let Some(v) = patch.category {
            input.category = v;
        }
        if let Some(v) = patch.edition_size {
            // Raffles created under the larger size keep their promise: never fewer pieces than
            // the winners they allot (creation takes this row's lock too).
            let promised = self.promises.pieces_promised(&mut tx, id).await?;
            if i64::from(v) < promised {
                return Err(Error::EditionBelowPromised { promised });
            }
            input.edition_size = v;
        }
        if let Some(v) = patch.retail_price_krw {
            input.retail_price_krw = v;
        }
        if let Some(v) = patch.description {
            input.description = v;
        }
        if let Some(v) = patch.sku {
            input.sku = Some(v);
        }
        if let Some(v) = patch.image_sha256s {
            input.image_sha256s = v;
        }
        if let Some(v) = patch.tags {
            input.tags = v;
        }
        let input = input.validated()?;
        let version = row.current_version as u32 + 1;
        self.write_version(
            &mut tx,
            seller,
            id,
            version,
            Some(b256(&row.content_hash)),
            &input,
        )
        .await?;
        tx.commit().await?;
        self.product(id).await
    }

    /// A wallet seller's signature for an unsigned version, checked before it is accepted.
    pub async fn submit_signature(
        &self,
        seller: Uuid,
        id: Uuid,
        version: u32,
        signature_hex: &str,
    ) -> Result<Product, Error> {
        let signature = hex::decode(signature_hex.trim())
            .map_err(|_| Error::invalid("signature", "must be 0x-hex."))?;
        let mut tx = self.db.begin().await?;
        let row = store::lock_product(&mut *tx, id)
            .await?
            .ok_or(Error::NotFound)?;
        if row.seller_id != seller {
            return Err(Error::NotSigner);
        }
        let rec = store::record(&mut *tx, id, version)
            .await?
            .ok_or(Error::NotFound)?;
        if rec.signature.is_some() {
            return Err(Error::SignatureNotAwaited);
        }
        let record = parse_record(&rec.canonical)?;
        let hash = b256(&rec.content_hash);
        let message =
            product::typed_message(hash, &record.name, &record.brand, record.edition_size);
        let expected: Address = rec
            .seller_address
            .parse()
            .map_err(|_| Error::Corrupt("stored seller address is malformed".into()))?;
        product::check_signature(&message, self.chain_id, &signature, expected)
            .map_err(|e| Error::SignatureInvalid(e.to_string()))?;
        if !store::set_signature(&mut *tx, id, version, &signature).await? {
            return Err(Error::SignatureNotAwaited);
        }
        outbox::enqueue(&mut *tx, hash).await?;
        tx.commit().await?;
        self.product(id).await
    }

    /// Chooses how the seller signs from now on.
    pub async fn set_signing(&self, seller: Uuid, wallet: Option<Address>) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        match wallet {
            Some(address) => {
                store::set_signing(&mut *tx, seller, "wallet", &product::address_hex(address))
                    .await?
            }
            None => {
                let existing = store::seller_key(&mut *tx, seller).await?;
                match existing.and_then(|k| k.encrypted_key) {
                    // Back to the custodial key the platform already holds for this seller.
                    Some(sealed) => {
                        let signer =
                            custody::open(self.master(), seller, &sealed).map_err(Error::Key)?;
                        store::set_signing(
                            &mut *tx,
                            seller,
                            "custodial",
                            &product::address_hex(signer.address()),
                        )
                        .await?;
                    }
                    None => {
                        let (signer, sealed) =
                            custody::generate(self.master(), seller).map_err(Error::Key)?;
                        let address = product::address_hex(signer.address());
                        store::set_signing(&mut *tx, seller, "custodial", &address).await?;
                        sqlx::query("UPDATE sellers SET encrypted_key = $2 WHERE user_id = $1")
                            .bind(seller)
                            .bind(sealed)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The seller's signing mode and address (a custodial key is made on first use).
    pub async fn signing_info(&self, seller: Uuid) -> Result<(String, String), Error> {
        let mut conn = self.db.acquire().await?;
        let signing = self.signing(&mut conn, seller).await?;
        let mode = match signing {
            Signing::Custodial(_) => "custodial",
            Signing::Wallet(_) => "wallet",
        };
        Ok((mode.to_owned(), signing.address()))
    }

    pub async fn product(&self, id: Uuid) -> Result<Product, Error> {
        let row = store::find_product(&self.db, id)
            .await?
            .ok_or(Error::NotFound)?;
        Ok(self.views(vec![row]).await?.remove(0))
    }

    /// A listed product's public answer, from memory when this replica read it less than
    /// `PUBLIC_SNAPSHOT_TTL` ago (`not_found` when delisted).
    pub async fn product_snapshot(&self, id: Uuid) -> Result<Snapshot, Error> {
        self.snapshots
            .get(id, || async {
                let product = self.product(id).await?;
                if !product.listed {
                    return Err(Error::NotFound);
                }
                Ok(Snapshot::json(&product, self.snapshots.ttl()))
            })
            .await
    }

    /// These products (listed or not) with their chain status; unknown ids are left out.
    pub async fn products(&self, ids: &[Uuid]) -> Result<Vec<Product>, Error> {
        let rows = store::find_products(&self.db, ids).await?;
        self.views(rows).await
    }

    /// Every listed product's id, oldest first.
    pub async fn listed_ids(&self) -> Result<Vec<Uuid>, Error> {
        Ok(store::listed_ids(&self.db).await?)
    }

    /// Products with their chain status (one outbox query for all of them).
    pub async fn views(&self, rows: Vec<ProductRow>) -> Result<Vec<Product>, Error> {
        let hashes: Vec<B256> = rows.iter().map(|r| b256(&r.content_hash)).collect();
        let infos = outbox::status_of(&self.db, &hashes).await?;
        rows.into_iter().map(|row| self.view(row, &infos)).collect()
    }

    fn view(&self, row: ProductRow, infos: &HashMap<B256, AnchorInfo>) -> Result<Product, Error> {
        let record = parse_record(&row.canonical)?;
        let hash = b256(&row.content_hash);
        let info = infos.get(&hash);
        let status = if row.revoked_at.is_some() {
            ChainStatus::Revoked
        } else if row.signature.is_none() {
            ChainStatus::AwaitingSignature
        } else {
            match info.map(|i| i.state) {
                Some(AnchorState::Confirmed) => ChainStatus::Confirmed,
                Some(AnchorState::Anchored) => ChainStatus::Anchored,
                _ => ChainStatus::Pending,
            }
        };
        let anchored = info.is_some_and(|i| i.state != AnchorState::Pending);
        let typed_data = row.signature.is_none().then(|| {
            product::typed_data_json(
                &product::typed_message(hash, &record.name, &record.brand, record.edition_size),
                self.chain_id,
            )
        });
        Ok(Product {
            id: row.id,
            seller_id: row.seller_id,
            version: row.current_version as u32,
            listed: row.listed,
            chain: ChainInfo {
                status,
                content_hash: hash.to_string(),
                root: info
                    .and_then(|i| i.root)
                    .filter(|_| anchored)
                    .map(|r| r.to_string()),
                tx_hash: info.and_then(|i| i.tx_hash).map(|t| t.to_string()),
                block_number: info.and_then(|i| i.block_number),
                block_time: info.and_then(|i| i.block_time),
                confirmations: info.and_then(|i| i.confirmations),
                proof_url: anchored.then(|| {
                    format!(
                        "/v1/products/{}/proof?version={}",
                        row.id, row.current_version
                    )
                }),
            },
            typed_data,
            record,
            revoked_at: row.revoked_at,
            revoke_reason: row.revoke_reason,
            tags: row.tags,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// The proof bundle of one version (the current one by default).
    pub async fn proof_bundle(&self, id: Uuid, version: Option<u32>) -> Result<ProofBundle, Error> {
        let row = store::find_product(&self.db, id)
            .await?
            .ok_or(Error::NotFound)?;
        let version = version.unwrap_or(row.current_version as u32);
        let rec = store::record(&self.db, id, version)
            .await?
            .ok_or(Error::NotFound)?;
        let signature = rec.signature.ok_or(Error::NotAnchoredYet)?;
        let hash = b256(&rec.content_hash);
        let info = outbox::status_of(&self.db, &[hash]).await?.remove(&hash);
        // Never a bundle with a hole in it: until the anchoring block's time is recorded too,
        // the record is not anchored as far as a verifier is concerned.
        let (Some(at), Some(registry)) = (info.and_then(AnchorInfo::published), self.registry)
        else {
            return Err(Error::NotAnchoredYet);
        };
        let record: serde_json::Value = serde_json::from_slice(&rec.canonical)
            .map_err(|e| Error::Corrupt(format!("stored record does not parse: {e}")))?;
        let parsed = parse_record(&rec.canonical)?;
        let message =
            product::typed_message(hash, &parsed.name, &parsed.brand, parsed.edition_size);
        Ok(ProofBundle {
            protocol: product::PROTOCOL.into(),
            anchor_protocol: crate::protocol::merkle::PROTOCOL.into(),
            record,
            content_hash: hash.to_string(),
            seller_address: rec.seller_address,
            signature: hex::encode_prefixed(&signature),
            eip712: product::typed_data_json(&message, self.chain_id),
            leaf: at.leaf.to_string(),
            proof: at.proof.iter().map(|p| p.to_string()).collect(),
            root: at.root.to_string(),
            chain_id: self.chain_id,
            contract_address: product::address_hex(registry),
            tx_hash: at.tx_hash.to_string(),
            block_number: at.block_number,
            block_time: at.block_time.to_rfc3339_opts(SecondsFormat::Secs, true),
        })
    }

    /// The catalogue's step of a revocation, in the caller's transaction (`lifecycle::revocation`
    /// adds what reaches raffles and orders): every signed version is queued for revocation on
    /// chain and the product marked revoked. `not_found`, or `already_revoked`.
    pub async fn revoke_in(
        &self,
        tx: &mut PgConnection,
        id: Uuid,
        reason: &str,
    ) -> Result<(), Error> {
        let row = store::lock_product(&mut *tx, id)
            .await?
            .ok_or(Error::NotFound)?;
        if row.revoked_at.is_some() {
            return Err(Error::AlreadyRevoked);
        }
        for hash in store::signed_hashes(&mut *tx, id).await? {
            outbox::request_revocation(&mut *tx, b256(&hash)).await?;
        }
        store::mark_revoked(&mut *tx, id, reason).await?;
        Ok(())
    }

    /// A seller's first `limit` listed products, oldest first.
    pub async fn product_ids_of(&self, seller: Uuid, limit: i64) -> Result<Vec<Uuid>, Error> {
        Ok(store::oldest_listed_ids(&self.db, seller, limit).await?)
    }

    /// How many products a seller has, listed or not.
    pub async fn count_for_seller(&self, seller: Uuid) -> Result<i64, Error> {
        Ok(store::count_for_seller(&self.db, seller).await?)
    }

    /// Remembers that `user` opened `product`'s page today (a row per Korean day), for the
    /// recommender to read.
    /// Remembers a signed-in buyer's visit for their recommendations (a seller's visits to their
    /// own products are not remembered).
    pub async fn record_view(&self, user: Uuid, product: Uuid) -> Result<(), Error> {
        Ok(store::record_view(&self.db, user, product, korea_today()).await?)
    }

    pub async fn delist(&self, id: Uuid) -> Result<(), Error> {
        store::delist(&self.db, id).await?;
        Ok(())
    }
}

/// What a raffle may take from its product, read under the product's row lock (which update and
/// revocation take too, so neither can slip between the check and the caller's commit).
#[derive(Debug, Clone, Copy)]
pub struct ProductForRaffle {
    /// The current record's edition size.
    pub edition_size: u32,
    pub listed: bool,
    pub revoked: bool,
}

pub async fn lock_for_raffle(
    tx: &mut PgConnection,
    product_id: Uuid,
) -> Result<Option<ProductForRaffle>, Error> {
    let Some(row) = store::lock_product(&mut *tx, product_id).await? else {
        return Ok(None);
    };
    let record = parse_record(&row.canonical)?;
    Ok(Some(ProductForRaffle {
        edition_size: record.edition_size,
        listed: row.listed,
        revoked: row.revoked_at.is_some(),
    }))
}

/// Account deletion: delists every product of the seller in the caller's transaction. The
/// records stay anchored and their proofs verifiable; the search index drops them through its
/// feed (the `products` trigger), and delisted products get no new conversations.
pub async fn delist_all_of_seller(tx: &mut PgConnection, seller: Uuid) -> Result<u64, Error> {
    Ok(store::delist_all_of_seller(&mut *tx, seller).await?)
}

fn parse_record(canonical: &[u8]) -> Result<Record, Error> {
    serde_json::from_slice(canonical)
        .map_err(|e| Error::Corrupt(format!("stored record does not parse: {e}")))
}
