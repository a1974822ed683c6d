//! Who holds a unit (`docs/UNITS.md`, *Owners*): the first owner is the buyer whose order the
//! seller shipped the unit for; an owner offers the unit to another verified account, which
//! accepts or declines; each change of hands is a `truffle.transfer/1` record, linked to the one
//! before, signed with the platform's anchoring key and anchored. An owner may report a unit
//! lost or stolen, which stops transfers and shows on the unit's page until they withdraw it.

use alloy::primitives::{Address, B256, hex};
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Error, Units, b256, store};
use crate::accounts::CurrentUser;
use crate::chain::outbox::{self, AnchorInfo};
use crate::http::Refuse as _;
use crate::orders::OrderStatus;
use crate::protocol::transfer::{self, History, TransferAnchor, TransferEntry, TransferRecord};
use crate::state::state_machine;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    /// Waiting for the recipient.
    Pending,
    /// The recipient holds the unit now.
    Accepted,
    /// The recipient said no.
    Declined,
    /// The owner withdrew it (or either account was deleted).
    Cancelled,
}

state_machine! {
    OfferStatus {
        Pending = "pending",
        Accepted = "accepted",
        Declined = "declined",
        Cancelled = "cancelled",
    }
    moves(from, next) { from == OfferStatus::Pending && next != OfferStatus::Pending }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Lost,
    Stolen,
}

impl ReportKind {
    fn as_str(self) -> &'static str {
        match self {
            ReportKind::Lost => "lost",
            ReportKind::Stolen => "stolen",
        }
    }
}

/// An owner's open report that a unit is lost or stolen.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Report {
    /// `lost` or `stolen`.
    pub kind: String,
    pub reported_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The serial of the unit shipped for this order, 1 to the edition size.
    #[schema(minimum = 1, maximum = 100000)]
    pub serial: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferRequest {
    /// The email of the account to hand the unit to; it must have verified its identity. The
    /// same form as sign-up's: at most 64 characters before the `@`; the domain has a dot.
    #[schema(
        example = "friend@example.com",
        max_length = 254,
        pattern = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
    )]
    pub to_email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub kind: ReportKind,
}

/// A unit as its owner sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OwnedUnit {
    pub code: String,
    pub product_id: Uuid,
    pub serial: u32,
    /// The pseudonym the unit's records name you by; only you and Truffle can tell it is you.
    pub owner_pseudonym: String,
    pub report: Option<Report>,
    /// The open offer to hand it on, if any.
    pub pending_offer: Option<Uuid>,
}

/// An offer to hand a unit on, as its owner or its recipient sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Offer {
    pub id: Uuid,
    pub code: String,
    pub status: OfferStatus,
    /// `outgoing` (you offered it) or `incoming` (offered to you).
    pub direction: String,
    pub created_at: chrono::DateTime<Utc>,
    pub decided_at: Option<chrono::DateTime<Utc>>,
}

impl Offer {
    fn of(row: store::OfferRow, viewer: Uuid) -> Self {
        Offer {
            direction: if row.from_user == viewer {
                "outgoing"
            } else {
                "incoming"
            }
            .into(),
            id: row.id,
            code: row.code,
            status: row.status,
            created_at: row.created_at,
            decided_at: row.decided_at,
        }
    }
}

pub(super) fn report_of(row: &store::OwnedRow) -> Option<Report> {
    Some(Report {
        kind: row.report_kind.clone()?,
        reported_at: row.reported_at?,
    })
}

impl Units {
    fn attester(&self) -> Result<&alloy::signers::local::PrivateKeySigner, Error> {
        self.attester.as_ref().ok_or(Error::NoAttester)
    }

    /// The pseudonym `account` has in the records of unit `code`.
    pub fn pseudonym(&self, account: Uuid, code: &str) -> String {
        transfer::pseudonym(&self.owner_key, account, code)
    }

    /// Signs a record, stores it, moves the unit and queues the record for anchoring.
    async fn record(
        &self,
        tx: &mut sqlx::PgConnection,
        record: TransferRecord,
        from_user: Option<Uuid>,
        to_user: Uuid,
        order_id: Option<Uuid>,
    ) -> Result<(), Error> {
        let signer = self.attester()?;
        let (canonical, hash) = record.hash();
        let message = transfer::typed_message(hash, &record)
            .ok_or_else(|| Error::Corrupt("a transfer record's hashes do not parse".into()))?;
        let signature = transfer::sign(signer, &message, self.chain_id)
            .map_err(|e| Error::Corrupt(format!("signing a transfer: {e:#}")))?;
        store::insert_transfer(
            &mut *tx,
            store::NewTransfer {
                code: &record.code,
                sequence: record.sequence,
                transfer_hash: hash.as_slice(),
                canonical: &canonical,
                signer: signer.address().as_slice(),
                signature: &signature,
                from_user,
                to_user,
                order_id,
            },
        )
        .await?;
        outbox::enqueue(&mut *tx, hash).await?;
        Ok(())
    }

    /// The seller says which unit was shipped for an order: the order's buyer becomes its first
    /// owner (a `raffle_win` record naming the raffle the order was won in).
    pub async fn assign_to_order(
        &self,
        user: &CurrentUser,
        order_id: Uuid,
        serial: u32,
    ) -> Result<OwnedUnit, Error> {
        let mut tx = self.db.begin().await?;
        let order = crate::orders::store::lock(&mut *tx, order_id)
            .await?
            .ok_or(Error::NotFound)?;
        if order.seller_id != user.id {
            return Err(Error::NotFound);
        }
        if !matches!(order.status, OrderStatus::Shipped | OrderStatus::Received) {
            return Err(Error::OrderNotShipped);
        }
        let set = store::find_set(&mut *tx, order.product_id)
            .await?
            .ok_or(Error::NotIssued)?;
        if serial == 0 || serial > set.edition_size as u32 {
            return Err(Error::invalid(
                "serial",
                &format!("must be 1 to {}.", set.edition_size),
            ));
        }
        if store::unit_of_order(&mut *tx, order_id).await?.is_some() {
            return Err(Error::AlreadyOwned);
        }
        let unit = store::lock_serial(&mut *tx, order.product_id, serial)
            .await?
            .ok_or(Error::NotFound)?;
        if unit.owner_id.is_some() {
            return Err(Error::AlreadyOwned);
        }
        let record = TransferRecord {
            protocol: transfer::TRANSFER_PROTOCOL.into(),
            code: unit.code.clone(),
            unit_hash: b256(&unit.content_hash)?.to_string(),
            sequence: 1,
            kind: transfer::KIND_RAFFLE_WIN.into(),
            raffle_id: Some(order.raffle_id),
            previous: None,
            from: None,
            to: self.pseudonym(order.buyer_id, &unit.code),
            created_at: now(),
        };
        self.record(&mut tx, record, None, order.buyer_id, Some(order_id))
            .await?;
        crate::notify::push(
            &mut *tx,
            order.buyer_id,
            "unit_owned",
            "정품 등록 완료",
            &format!("No. {serial} / {}의 소유자로 기록되었습니다.", set.edition_size),
            serde_json::json!({"code": unit.code, "product_id": order.product_id, "serial": serial, "order_id": order_id}),
        )
        .await
        .map_err(|crate::notify::Error::Db(e)| Error::Db(e))?;
        tx.commit().await?;
        self.owned_unit(order.buyer_id, &unit.code).await
    }

    /// The unit as its owner sees it (`not_found` for anyone else).
    pub async fn owned_unit(&self, owner: Uuid, code: &str) -> Result<OwnedUnit, Error> {
        let row = store::owned(&self.db, code).await?.ok_or(Error::NotFound)?;
        if row.owner_id != Some(owner) {
            return Err(Error::NotFound);
        }
        self.owned_view(owner, row).await
    }

    async fn owned_view(&self, owner: Uuid, row: store::OwnedRow) -> Result<OwnedUnit, Error> {
        let pending = store::pending_offer(&self.db, &row.code).await?;
        Ok(OwnedUnit {
            owner_pseudonym: self.pseudonym(owner, &row.code),
            report: report_of(&row),
            pending_offer: pending.map(|o| o.id),
            product_id: row.product_id,
            serial: row.serial as u32,
            code: row.code,
        })
    }

    /// The units the caller holds.
    pub async fn my_units(&self, user: &CurrentUser) -> Result<Vec<OwnedUnit>, Error> {
        let mut out = Vec::new();
        for row in store::of_owner(&self.db, user.id).await? {
            out.push(self.owned_view(user.id, row).await?);
        }
        Ok(out)
    }

    /// The owner offers a unit to another verified account.
    pub async fn offer(
        &self,
        user: &CurrentUser,
        code: &str,
        req: OfferRequest,
    ) -> Result<Offer, Error> {
        let email = crate::accounts::person::normalize_email(&req.to_email)
            .ok_or_else(|| Error::invalid("to_email", "must be an email address."))?;
        let mut tx = self.db.begin().await?;
        let unit = self.lock_owned(&mut tx, user, code).await?;
        if unit.report_kind.is_some() {
            return Err(Error::Reported);
        }
        let (to, verified) = store::account_by_email(&mut *tx, &email)
            .await?
            .ok_or(Error::RecipientNotFound)?;
        if to == user.id {
            return Err(Error::invalid("to_email", "must be another account."));
        }
        if !verified {
            return Err(Error::RecipientNotVerified);
        }
        let id = Uuid::now_v7();
        if !store::insert_offer(&mut *tx, id, &unit.code, user.id, to).await? {
            return Err(Error::OfferPending);
        }
        crate::notify::push(
            &mut *tx,
            to,
            "unit_offered",
            "정품 양도 요청",
            "정품 한 점의 양도 요청이 도착했습니다. 수락하면 소유 기록이 이전됩니다.",
            serde_json::json!({"offer_id": id, "code": unit.code}),
        )
        .await
        .map_err(|crate::notify::Error::Db(e)| Error::Db(e))?;
        tx.commit().await?;
        self.offer_view(user.id, id).await
    }

    async fn lock_owned(
        &self,
        tx: &mut sqlx::PgConnection,
        user: &CurrentUser,
        code: &str,
    ) -> Result<store::OwnedRow, Error> {
        if !crate::protocol::unit::is_code(code) {
            return Err(Error::NotFound);
        }
        let unit = store::lock_unit(&mut *tx, code)
            .await?
            .ok_or(Error::NotFound)?;
        if unit.owner_id != Some(user.id) {
            return Err(Error::NotOwner);
        }
        Ok(unit)
    }

    async fn offer_view(&self, viewer: Uuid, id: Uuid) -> Result<Offer, Error> {
        let row = store::find_offer(&self.db, id)
            .await?
            .ok_or(Error::NotFound)?;
        Ok(Offer::of(row, viewer))
    }

    /// The offers the caller made or received.
    pub async fn offers(&self, user: &CurrentUser) -> Result<Vec<Offer>, Error> {
        Ok(store::offers_of(&self.db, user.id)
            .await?
            .into_iter()
            .map(|o| Offer::of(o, user.id))
            .collect())
    }

    /// The recipient accepts: the next record of the unit's history names them its owner.
    pub async fn accept(&self, user: &CurrentUser, offer_id: Uuid) -> Result<Offer, Error> {
        let mut tx = self.db.begin().await?;
        // The unit first, then the offer: the order every change of a unit and its offers
        // takes (a report cancels the open offer under the unit's lock), so none deadlocks.
        let code = store::find_offer(&mut *tx, offer_id)
            .await?
            .filter(|o| o.to_user == user.id)
            .ok_or(Error::NotFound)?
            .code;
        let unit = store::lock_unit(&mut *tx, &code)
            .await?
            .ok_or(Error::NotFound)?;
        let offer = store::lock_offer(&mut *tx, offer_id)
            .await?
            .ok_or(Error::NotFound)?;
        if offer.status != OfferStatus::Pending {
            return Err(Error::OfferNotPending);
        }
        if !user.identity_verified {
            return Err(Error::RecipientNotVerified);
        }
        if unit.owner_id != Some(offer.from_user) {
            // The unit changed hands since; the offer lapses.
            store::decide_offer(&mut *tx, offer_id, OfferStatus::Cancelled).await?;
            tx.commit().await?;
            return Err(Error::OfferNotPending);
        }
        if unit.report_kind.is_some() {
            return Err(Error::Reported);
        }
        let last = store::last_transfer(&mut *tx, &unit.code)
            .await?
            .ok_or_else(|| Error::Corrupt("an owned unit without records".into()))?;
        let record = TransferRecord {
            protocol: transfer::TRANSFER_PROTOCOL.into(),
            code: unit.code.clone(),
            unit_hash: b256(&unit.content_hash)?.to_string(),
            sequence: last.sequence as u32 + 1,
            kind: transfer::KIND_TRANSFER.into(),
            raffle_id: None,
            previous: Some(b256(&last.transfer_hash)?.to_string()),
            from: Some(self.pseudonym(offer.from_user, &unit.code)),
            to: self.pseudonym(user.id, &unit.code),
            created_at: now(),
        };
        self.record(&mut tx, record, Some(offer.from_user), user.id, None)
            .await?;
        store::decide_offer(&mut *tx, offer_id, OfferStatus::Accepted).await?;
        crate::notify::push(
            &mut *tx,
            offer.from_user,
            "unit_transferred",
            "정품 양도 완료",
            "양도 요청이 수락되어 소유 기록이 이전되었습니다.",
            serde_json::json!({"offer_id": offer_id, "code": unit.code}),
        )
        .await
        .map_err(|crate::notify::Error::Db(e)| Error::Db(e))?;
        tx.commit().await?;
        self.offer_view(user.id, offer_id).await
    }

    /// The recipient declines (`decline`) or the owner withdraws (`cancel`) an open offer.
    pub async fn end_offer(
        &self,
        user: &CurrentUser,
        offer_id: Uuid,
        next: OfferStatus,
    ) -> Result<Offer, Error> {
        let mut tx = self.db.begin().await?;
        let offer = store::lock_offer(&mut *tx, offer_id)
            .await?
            .filter(|o| match next {
                OfferStatus::Declined => o.to_user == user.id,
                _ => o.from_user == user.id,
            })
            .ok_or(Error::NotFound)?;
        if !store::decide_offer(&mut *tx, offer.id, next).await? {
            return Err(Error::OfferNotPending);
        }
        tx.commit().await?;
        self.offer_view(user.id, offer_id).await
    }

    /// The owner reports the unit lost or stolen (`Some`), or withdraws the report (`None`).
    pub async fn report(
        &self,
        user: &CurrentUser,
        code: &str,
        kind: Option<ReportKind>,
    ) -> Result<OwnedUnit, Error> {
        let mut tx = self.db.begin().await?;
        let unit = self.lock_owned(&mut tx, user, code).await?;
        store::set_report(&mut *tx, &unit.code, kind.map(ReportKind::as_str)).await?;
        if kind.is_some()
            && let Some(offer) = store::pending_offer(&mut *tx, &unit.code).await?
        {
            store::decide_offer(&mut *tx, offer.id, OfferStatus::Cancelled).await?;
        }
        tx.commit().await?;
        self.owned_unit(user.id, &unit.code).await
    }

    /// A unit's history of owners, with each record's signature and anchoring (anyone).
    pub async fn history(&self, code: &str) -> Result<History, Error> {
        let (unit, _) = self.unit_and_set(code).await?;
        let rows = store::transfers(&self.db, &unit.code).await?;
        let hashes: Vec<B256> = rows
            .iter()
            .map(|r| b256(&r.transfer_hash))
            .collect::<Result<_, _>>()?;
        let mut anchored = outbox::status_of(&self.db, &hashes).await?;
        let mut transfers = Vec::with_capacity(rows.len());
        for (row, hash) in rows.into_iter().zip(hashes) {
            let record: TransferRecord = serde_json::from_slice(&row.canonical)
                .map_err(|e| Error::Corrupt(format!("stored transfer does not parse: {e}")))?;
            let message = transfer::typed_message(hash, &record)
                .ok_or_else(|| Error::Corrupt("a transfer record's hashes do not parse".into()))?;
            let signer = Address::try_from(row.signer.as_slice())
                .map_err(|_| Error::Corrupt("a signer is not 20 bytes".into()))?;
            let anchor = match (
                anchored.remove(&hash).and_then(AnchorInfo::published),
                self.registry,
            ) {
                (Some(at), Some(registry)) => Some(TransferAnchor {
                    leaf: at.leaf.to_string(),
                    proof: at.proof.iter().map(|p| p.to_string()).collect(),
                    root: at.root.to_string(),
                    chain_id: self.chain_id,
                    contract_address: format!("{registry:#x}"),
                    tx_hash: at.tx_hash.to_string(),
                    block_number: at.block_number,
                    block_time: at.block_time.to_rfc3339_opts(SecondsFormat::Secs, true),
                }),
                _ => None,
            };
            transfers.push(TransferEntry {
                record,
                transfer_hash: hash.to_string(),
                signer: format!("{signer:#x}"),
                signature: hex::encode_prefixed(&row.signature),
                eip712: transfer::typed_data_json(&message, self.chain_id),
                anchor,
            });
        }
        let unit_hash = store::owned(&self.db, &unit.code)
            .await?
            .map(|r| b256(&r.content_hash))
            .transpose()?
            .ok_or(Error::NotFound)?;
        Ok(History {
            protocol: transfer::TRANSFER_PROTOCOL.into(),
            code: unit.code,
            unit_hash: unit_hash.to_string(),
            transfers,
        })
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}
