//! `truffle.unit/1` and `truffle.units/1`: the units of a limited edition. An edition of N is N
//! units, serial 1 to N, each with a public code that its QR label carries. Each unit is a record
//! (`truffle.unit/1`); the seller signs one record for the whole edition (`truffle.units/1`) whose
//! `units_root` is the `truffle.anchor/1` Merkle root over the unit records' content hashes, and
//! that record is anchored like a product record. A unit is verified by its record, its path to
//! `units_root`, the seller's signature over the edition record, and the edition record's
//! anchoring. Byte-exact rules and vectors: `docs/PROTOCOLS.md` §8.

use alloy::primitives::B256;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{jcs, merkle, product};

pub const UNIT_PROTOCOL: &str = "truffle.unit/1";
pub const UNITS_PROTOCOL: &str = "truffle.units/1";

/// Crockford's base32 alphabet: digits and upper-case letters without I, L, O and U, so a code
/// read aloud or typed from a label is not mistaken, and it is in GS1's character set for AI 21.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// A code's length: 20 characters of 5 bits, 100 random bits. Even all the codes of every
/// edition ever made are a vanishing part of 2^100, so valid codes cannot be found by trying.
pub const CODE_LEN: usize = 20;

/// A fresh unit code, from a cryptographically secure generator seeded by the operating system.
pub fn new_code() -> String {
    let bytes: [u8; CODE_LEN] = rand::random();
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)] as char)
        .collect()
}

/// Whether `code` is written as codes are: 20 characters of the alphabet, upper case.
pub fn is_code(code: &str) -> bool {
    code.len() == CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))
}

/// A GTIN-8, -12, -13 or -14 with a valid check digit, as the 14 digits GS1 Digital Link
/// carries (padded with leading zeros); `None` otherwise.
pub fn gtin14(gtin: &str) -> Option<String> {
    let digits = gtin.as_bytes();
    if !matches!(digits.len(), 8 | 12 | 13 | 14) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (data, check) = digits.split_at(digits.len() - 1);
    let sum: u32 = data
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    let expected = (10 - sum % 10) % 10;
    (u32::from(check[0] - b'0') == expected).then(|| format!("{gtin:0>14}"))
}

/// One unit of an edition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitRecord {
    /// Always `truffle.unit/1`.
    pub protocol: String,
    pub product_id: Uuid,
    /// 1 to `edition_size`.
    pub serial: u32,
    pub edition_size: u32,
    /// The unit's public code, as its label carries it.
    pub code: String,
}

impl UnitRecord {
    pub fn new(product_id: Uuid, serial: u32, edition_size: u32, code: String) -> Self {
        UnitRecord {
            protocol: UNIT_PROTOCOL.into(),
            product_id,
            serial,
            edition_size,
            code,
        }
    }

    /// sha256 of the record's canonical bytes (RFC 8785).
    pub fn content_hash(&self) -> B256 {
        let value = serde_json::to_value(self).expect("a unit record serialises");
        let bytes = jcs::canonicalize(&value).expect("unit records hold only safe integers");
        product::content_hash_of(&bytes)
    }
}

/// The seller's record of an edition's units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitsRecord {
    /// Always `truffle.units/1`.
    pub protocol: String,
    pub product_id: Uuid,
    /// The content hash of the product record (`truffle.product/1`) the units are of.
    pub product_content_hash: String,
    pub edition_size: u32,
    /// The product's GTIN as 14 digits, or `null`.
    pub gtin: Option<String>,
    /// The `truffle.anchor/1` Merkle root over the content hashes of the edition's unit records.
    pub units_root: String,
    /// The signer: lowercase 0x-hex address (the product record's seller).
    pub seller_address: String,
    /// RFC 3339 UTC, whole seconds, `Z`.
    pub created_at: String,
}

impl UnitsRecord {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a units record serialises")
    }

    /// Canonical bytes and content hash.
    pub fn hash(&self) -> (Vec<u8>, B256) {
        let bytes = jcs::canonicalize(&self.to_json()).expect("units records hold safe integers");
        let hash = product::content_hash_of(&bytes);
        (bytes, hash)
    }
}

/// Everything a third party needs to check one unit against the chain (`docs/PROTOCOLS.md`
/// §8.4): the unit record, its path to the edition's `units_root`, the seller-signed unit set
/// and the unit set's anchoring. Hashes, addresses and signatures are lowercase 0x-hex.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitProof {
    /// `truffle.unit/1`.
    pub protocol: String,
    pub unit: UnitRecord,
    pub unit_hash: String,
    /// Sibling hashes from the unit's leaf to `units.units_root`.
    pub unit_proof: Vec<String>,
    /// The `truffle.units/1` record exactly as signed.
    #[schema(value_type = Object)]
    pub units: serde_json::Value,
    pub units_hash: String,
    /// 65 bytes r ‖ s ‖ v over the EIP-712 message in `eip712`.
    pub signature: String,
    #[schema(value_type = Object)]
    pub eip712: serde_json::Value,
    /// The unit set's anchoring, as in a product's proof bundle.
    pub leaf: String,
    pub proof: Vec<String>,
    pub root: String,
    pub chain_id: u64,
    pub contract_address: String,
    pub tx_hash: String,
    pub block_number: u64,
    pub block_time: String,
}

alloy::sol! {
    /// The EIP-712 struct a seller signs for an edition's units.
    #[derive(Debug)]
    struct UnitSet {
        bytes32 contentHash;
        bytes32 productContentHash;
        bytes32 unitsRoot;
        uint32 editionSize;
    }
}

/// The EIP-712 message for a units record with this content hash.
pub fn typed_message(content_hash: B256, record: &UnitsRecord) -> Option<UnitSet> {
    Some(UnitSet {
        contentHash: content_hash,
        productContentHash: record.product_content_hash.parse().ok()?,
        unitsRoot: record.units_root.parse().ok()?,
        editionSize: record.edition_size,
    })
}

/// Digest, signing and checking as for product records (§2, §4.2 check 8).
pub use super::product::{check_signature, sign, signing_hash};

/// The typed data as `eth_signTypedData_v4` and `cast wallet verify --data` take it.
pub fn typed_data_json(message: &UnitSet, chain_id: u64) -> Value {
    product::typed_data(
        "UnitSet",
        json!([
            {"name": "contentHash", "type": "bytes32"},
            {"name": "productContentHash", "type": "bytes32"},
            {"name": "unitsRoot", "type": "bytes32"},
            {"name": "editionSize", "type": "uint32"}
        ]),
        json!({
            "contentHash": message.contentHash.to_string(),
            "productContentHash": message.productContentHash.to_string(),
            "unitsRoot": message.unitsRoot.to_string(),
            "editionSize": message.editionSize
        }),
        chain_id,
    )
}

/// The units tree: `truffle.anchor/1` over the unit records' content hashes.
pub fn units_tree(units: &[UnitRecord]) -> Option<merkle::MerkleTree> {
    let hashes: Vec<merkle::Hash> = units.iter().map(|u| u.content_hash().0).collect();
    merkle::MerkleTree::from_content_hashes(&hashes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::local::PrivateKeySigner;

    #[test]
    fn codes_are_twenty_characters_of_the_alphabet_and_differ() {
        let a = new_code();
        let b = new_code();
        assert!(is_code(&a) && is_code(&b), "{a} {b}");
        assert_ne!(a, b);
        assert!(!is_code(&a.to_lowercase()));
        assert!(
            !is_code("0123456789ABCDEFGHIL"),
            "I and L are not in the alphabet"
        );
        assert!(!is_code(&a[..19]));
    }

    #[test]
    fn gtin_check_digits() {
        // The GS1 examples.
        assert_eq!(gtin14("5391234567892").as_deref(), Some("05391234567892"));
        assert_eq!(gtin14("6291041500213").as_deref(), Some("06291041500213"));
        assert_eq!(gtin14("09521234543213").as_deref(), Some("09521234543213"));
        assert_eq!(gtin14("5391234567893"), None, "wrong check digit");
        assert_eq!(
            gtin14("539123456788"),
            None,
            "a GTIN-12 with a wrong check digit"
        );
        assert_eq!(gtin14("539123456789").as_deref(), Some("00539123456789"));
        assert_eq!(gtin14("53912345678x2"), None);
        assert_eq!(gtin14("123"), None);
    }

    #[test]
    fn a_unit_set_signature_verifies_and_names_its_signer() {
        let signer = PrivateKeySigner::from_bytes(&B256::left_padding_from(&[1])).unwrap();
        let units: Vec<UnitRecord> = (1..=3)
            .map(|n| UnitRecord::new(Uuid::nil(), n, 3, new_code()))
            .collect();
        let tree = units_tree(&units).unwrap();
        let record = UnitsRecord {
            protocol: UNITS_PROTOCOL.into(),
            product_id: Uuid::nil(),
            product_content_hash: B256::repeat_byte(7).to_string(),
            edition_size: 3,
            gtin: None,
            units_root: B256::from(tree.root()).to_string(),
            seller_address: product::address_hex(signer.address()),
            created_at: "2026-12-04T00:00:00Z".into(),
        };
        let (_, hash) = record.hash();
        let message = typed_message(hash, &record).unwrap();
        let sig = sign(&signer, &message, 31337).unwrap();
        assert_eq!(
            check_signature(&message, 31337, &sig, signer.address()),
            Ok(())
        );
        assert!(check_signature(&message, 1, &sig, signer.address()).is_err());
        for u in &units {
            let leaf = merkle::leaf(&u.content_hash().0);
            assert!(merkle::verify(
                &leaf,
                &tree.proof(&leaf).unwrap(),
                &tree.root()
            ));
        }
    }
}
