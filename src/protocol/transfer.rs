//! `truffle.transfer/1`: who has held a unit. Each change of hands is one record, linked to the
//! one before it by hash and numbered from 1, signed by the platform with a key the registry
//! allows to anchor (`isAnchorer`), and anchored in the ordinary Merkle batches. Owners appear
//! as per-unit pseudonyms: an HMAC of the account and the unit's code under a server key, so
//! that no personal data is in a record and one person's units cannot be linked to each other.
//! Byte-exact rules and vectors: `docs/PROTOCOLS.md` §9.

use alloy::primitives::B256;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{jcs, product};

pub const TRANSFER_PROTOCOL: &str = "truffle.transfer/1";
/// The first record of a unit: its first owner, the buyer who won it in a raffle.
pub const KIND_RAFFLE_WIN: &str = "raffle_win";
/// A later record: the owner handed the unit to another account, which accepted it.
pub const KIND_TRANSFER: &str = "transfer";

/// One change of hands of a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRecord {
    /// Always `truffle.transfer/1`.
    pub protocol: String,
    /// The unit's code.
    pub code: String,
    /// The content hash of the unit's `truffle.unit/1` record.
    pub unit_hash: String,
    /// 1 for the first owner, then one more for each change of hands.
    pub sequence: u32,
    /// `raffle_win` (sequence 1) or `transfer` (after).
    pub kind: String,
    /// The raffle the unit was won in (its draw is `GET /v1/raffles/{id}/draw`); `null` after
    /// the first record.
    pub raffle_id: Option<Uuid>,
    /// The previous record's `transfer_hash`; `null` for the first.
    pub previous: Option<String>,
    /// The previous owner's pseudonym; `null` for the first.
    pub from: Option<String>,
    /// The new owner's pseudonym: 0x and 64 lowercase hex digits.
    pub to: String,
    /// RFC 3339 UTC, whole seconds, `Z`.
    pub created_at: String,
}

impl TransferRecord {
    /// Canonical bytes (RFC 8785) and `transfer_hash = sha256` of them.
    pub fn hash(&self) -> (Vec<u8>, B256) {
        let value = serde_json::to_value(self).expect("a transfer record serialises");
        let bytes = jcs::canonicalize(&value).expect("transfer records hold safe integers");
        let hash = product::content_hash_of(&bytes);
        (bytes, hash)
    }

    /// What `previous` must be and what the sequence must be for `next` to follow `self`.
    pub fn is_followed_by(&self, self_hash: B256, next: &TransferRecord) -> bool {
        next.sequence == self.sequence.saturating_add(1)
            && next.code == self.code
            && next.unit_hash == self.unit_hash
            && next.kind == KIND_TRANSFER
            && next.raffle_id.is_none()
            && next.previous.as_deref() == Some(self_hash.to_string().as_str())
            && next.from.as_deref() == Some(self.to.as_str())
    }

    /// Whether this can be a unit's first record.
    pub fn is_first(&self) -> bool {
        self.sequence == 1
            && self.kind == KIND_RAFFLE_WIN
            && self.raffle_id.is_some()
            && self.previous.is_none()
            && self.from.is_none()
    }
}

/// A unit's owner as its records name them: `0x ‖ hex(HMAC-SHA256(key, "truffle.owner/1" ‖
/// account id ‖ code))`. Only the holder of `key` (the platform) can tell whose it is; the
/// platform shows each owner their own.
pub fn pseudonym(key: &[u8], account: Uuid, code: &str) -> String {
    let mac = crate::crypto::hmac_sha256(
        key,
        &[b"truffle.owner/1", account.as_bytes(), code.as_bytes()],
    );
    alloy::primitives::hex::encode_prefixed(mac)
}

alloy::sol! {
    /// The EIP-712 struct the platform signs for each change of hands.
    #[derive(Debug)]
    struct Transfer {
        bytes32 contentHash;
        bytes32 unitHash;
        bytes32 previous;
        uint32 sequence;
    }
}

/// The EIP-712 message for a transfer record with this hash (`previous` zero for the first).
pub fn typed_message(transfer_hash: B256, record: &TransferRecord) -> Option<Transfer> {
    Some(Transfer {
        contentHash: transfer_hash,
        unitHash: record.unit_hash.parse().ok()?,
        previous: match &record.previous {
            None => B256::ZERO,
            Some(p) => p.parse().ok()?,
        },
        sequence: record.sequence,
    })
}

/// Digest, signing and checking as for product records (§2, §4.2 check 8).
pub use super::product::{check_signature, sign, signing_hash};

/// The typed data as `eth_signTypedData_v4` and `cast wallet verify --data` take it.
pub fn typed_data_json(message: &Transfer, chain_id: u64) -> Value {
    product::typed_data(
        "Transfer",
        json!([
            {"name": "contentHash", "type": "bytes32"},
            {"name": "unitHash", "type": "bytes32"},
            {"name": "previous", "type": "bytes32"},
            {"name": "sequence", "type": "uint32"}
        ]),
        json!({
            "contentHash": message.contentHash.to_string(),
            "unitHash": message.unitHash.to_string(),
            "previous": message.previous.to_string(),
            "sequence": message.sequence
        }),
        chain_id,
    )
}

/// Where one transfer record was anchored; `null` in a history while it waits for its batch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferAnchor {
    pub leaf: String,
    pub proof: Vec<String>,
    pub root: String,
    pub chain_id: u64,
    pub contract_address: String,
    pub tx_hash: String,
    pub block_number: u64,
    pub block_time: String,
}

/// One record of a unit's history, with what proves it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferEntry {
    pub record: TransferRecord,
    pub transfer_hash: String,
    /// The address that signed: a key the registry allows to anchor.
    pub signer: String,
    /// 65 bytes r ‖ s ‖ v over `eip712`.
    pub signature: String,
    #[schema(value_type = Object)]
    pub eip712: Value,
    /// `null` until the record's batch is anchored.
    pub anchor: Option<TransferAnchor>,
}

/// A unit's history of owners (`GET /v1/units/{code}/history`), first record first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// `truffle.transfer/1`.
    pub protocol: String,
    pub code: String,
    pub unit_hash: String,
    pub transfers: Vec<TransferEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Address;
    use alloy::signers::local::PrivateKeySigner;

    fn first() -> TransferRecord {
        TransferRecord {
            protocol: TRANSFER_PROTOCOL.into(),
            code: "0123456789ABCDEFGHJK".into(),
            unit_hash: "0xae266b005691e7a94f9b53db93706548e902916e92ebc7bb6a3f57cdfe0d661b".into(),
            sequence: 1,
            kind: KIND_RAFFLE_WIN.into(),
            raffle_id: Some("01930b6e-5a2c-7d41-8f3e-6b1c2d3e4f50".parse().unwrap()),
            previous: None,
            from: None,
            to: pseudonym(b"k", Uuid::nil(), "0123456789ABCDEFGHJK"),
            created_at: "2026-12-04T09:00:00Z".into(),
        }
    }

    #[test]
    fn a_record_follows_only_the_one_it_names() {
        let a = first();
        assert!(a.is_first());
        let (_, ha) = a.hash();
        let b = TransferRecord {
            sequence: 2,
            kind: KIND_TRANSFER.into(),
            raffle_id: None,
            previous: Some(ha.to_string()),
            from: Some(a.to.clone()),
            to: pseudonym(b"k", Uuid::max(), &a.code),
            ..a.clone()
        };
        assert!(a.is_followed_by(ha, &b));
        assert!(!b.is_first());
        let forged_from = TransferRecord {
            from: Some(b.to.clone()),
            ..b.clone()
        };
        assert!(!a.is_followed_by(ha, &forged_from), "from is not the owner");
        let skipped = TransferRecord {
            sequence: 3,
            ..b.clone()
        };
        assert!(!a.is_followed_by(ha, &skipped), "a sequence skipped");
        assert!(!a.is_followed_by(B256::ZERO, &b), "another previous");
    }

    #[test]
    fn pseudonyms_differ_per_unit_and_per_account() {
        let a = pseudonym(b"k", Uuid::nil(), "0123456789ABCDEFGHJK");
        assert_eq!(a.len(), 66);
        assert_ne!(a, pseudonym(b"k", Uuid::nil(), "MNPQRSTVWXYZ01234567"));
        assert_ne!(a, pseudonym(b"k", Uuid::max(), "0123456789ABCDEFGHJK"));
        assert_ne!(
            a,
            pseudonym(b"other key", Uuid::nil(), "0123456789ABCDEFGHJK")
        );
    }

    #[test]
    fn signed_transfers_check_out_for_their_signer_only() {
        let signer = PrivateKeySigner::from_bytes(&B256::left_padding_from(&[1])).unwrap();
        let record = first();
        let (_, hash) = record.hash();
        let message = typed_message(hash, &record).unwrap();
        let sig = sign(&signer, &message, 31337).unwrap();
        check_signature(&message, 31337, &sig, signer.address()).unwrap();
        assert!(check_signature(&message, 1, &sig, signer.address()).is_err());
        assert!(check_signature(&message, 31337, &sig, Address::ZERO).is_err());
    }
}
