//! `truffle.product/1`: the product record, its canonical bytes and content hash, and the seller's
//! EIP-712 signature over it. Byte-exact rules and test vectors: `docs/PROTOCOLS.md`.

use alloy::primitives::{Address, B256, Signature, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{Eip712Domain, SolStruct, eip712_domain};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::jcs;

pub const PROTOCOL: &str = "truffle.product/1";

/// secp256k1's group order halved: a signature's `s` above it is the malleable twin, refused.
const HALF_ORDER: U256 = U256::from_limbs([
    0xdfe9_2f46_681b_20a0,
    0x5d57_6e73_57a4_501d,
    0xffff_ffff_ffff_ffff,
    0x7fff_ffff_ffff_ffff,
]);

/// One version of a product record. Keys are snake_case; every key is always present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Always `truffle.product/1`.
    #[schema(example = "truffle.product/1")]
    pub protocol: String,
    pub product_id: Uuid,
    /// 1, 2, … one per update.
    pub version: u32,
    /// The previous version's content hash (0x-hex), null for version 1.
    pub previous_content_hash: Option<String>,
    /// The signer: lowercase 0x-hex address.
    pub seller_address: String,
    #[schema(example = "나이키 덩크 로우 레트로 판다")]
    pub name: String,
    #[schema(example = "Nike")]
    pub brand: String,
    #[schema(example = "sneakers")]
    pub category: String,
    pub edition_size: u32,
    /// Retail price in won.
    pub retail_price_krw: u64,
    pub description: String,
    /// The maker's style or model code, when it has one.
    pub sku: Option<String>,
    /// sha256 of each product image, 0x-hex, in display order.
    pub image_sha256s: Vec<String>,
    /// RFC 3339 UTC, whole seconds, `Z`.
    #[schema(example = "2026-11-21T09:00:00Z")]
    pub created_at: String,
}

alloy::sol! {
    /// The EIP-712 struct a seller signs.
    #[derive(Debug)]
    struct ProductRecord {
        bytes32 contentHash;
        string name;
        string brand;
        uint32 editionSize;
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("a signature is 65 bytes (r ‖ s ‖ v)")]
    Length,
    #[error("v must be 27 or 28")]
    V,
    #[error("s is in the upper half of the curve order (malleable signature)")]
    HighS,
    #[error("the signature does not recover to a public key")]
    Unrecoverable,
    #[error("signed by {0}, not by the record's seller")]
    WrongSigner(Address),
}

/// The EIP-712 domain: `{name: "Truffle", version: "1", chainId}`, no contract, no salt.
pub fn domain(chain_id: u64) -> Eip712Domain {
    eip712_domain! {
        name: "Truffle",
        version: "1",
        chain_id: chain_id,
    }
}

/// Canonical bytes (RFC 8785) of a record given as JSON.
pub fn canonical_bytes(record: &Value) -> Result<Vec<u8>, jcs::JcsError> {
    jcs::canonicalize(record)
}

pub fn content_hash_of(canonical: &[u8]) -> B256 {
    B256::from(<[u8; 32]>::from(Sha256::digest(canonical)))
}

impl Record {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a record serialises")
    }

    /// Canonical bytes and content hash.
    pub fn hash(&self) -> (Vec<u8>, B256) {
        let bytes = canonical_bytes(&self.to_json()).expect("records hold only safe integers");
        let hash = content_hash_of(&bytes);
        (bytes, hash)
    }
}

/// The EIP-712 message for a record with this content hash.
pub fn typed_message(
    content_hash: B256,
    name: &str,
    brand: &str,
    edition_size: u32,
) -> ProductRecord {
    ProductRecord {
        contentHash: content_hash,
        name: name.to_owned(),
        brand: brand.to_owned(),
        editionSize: edition_size,
    }
}

pub fn signing_hash(message: &ProductRecord, chain_id: u64) -> B256 {
    message.eip712_signing_hash(&domain(chain_id))
}

/// Signs with a key the platform holds for the seller; 65 bytes r ‖ s ‖ v, v 27 or 28, low s.
pub fn sign(
    signer: &PrivateKeySigner,
    message: &ProductRecord,
    chain_id: u64,
) -> anyhow::Result<[u8; 65]> {
    let sig = signer.sign_hash_sync(&signing_hash(message, chain_id))?;
    // k256 already produces low-s signatures; normalising keeps that true whatever signs.
    Ok(sig.normalized_s().as_bytes())
}

/// Checks a 65-byte signature over `message` by `expected` (refusing high s and v other than 27/28).
pub fn check_signature(
    message: &ProductRecord,
    chain_id: u64,
    signature: &[u8],
    expected: Address,
) -> Result<(), SignatureError> {
    let bytes: &[u8; 65] = signature.try_into().map_err(|_| SignatureError::Length)?;
    if !matches!(bytes[64], 27 | 28) {
        return Err(SignatureError::V);
    }
    let sig = Signature::from_raw_array(bytes).map_err(|_| SignatureError::V)?;
    if sig.s() > HALF_ORDER {
        return Err(SignatureError::HighS);
    }
    let signer = sig
        .recover_address_from_prehash(&signing_hash(message, chain_id))
        .map_err(|_| SignatureError::Unrecoverable)?;
    if signer == expected {
        Ok(())
    } else {
        Err(SignatureError::WrongSigner(signer))
    }
}

/// The typed data as `eth_signTypedData_v4` and `cast wallet verify --data` take it. (ethers'
/// `verifyTypedData` wants `types` without `EIP712Domain`.)
pub fn typed_data_json(message: &ProductRecord, chain_id: u64) -> Value {
    json!({
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"}
            ],
            "ProductRecord": [
                {"name": "contentHash", "type": "bytes32"},
                {"name": "name", "type": "string"},
                {"name": "brand", "type": "string"},
                {"name": "editionSize", "type": "uint32"}
            ]
        },
        "primaryType": "ProductRecord",
        "domain": {"name": "Truffle", "version": "1", "chainId": chain_id},
        "message": {
            "contentHash": message.contentHash.to_string(),
            "name": message.name,
            "brand": message.brand,
            "editionSize": message.editionSize
        }
    })
}

/// Lowercase 0x-hex of an address, as records write it.
pub fn address_hex(address: Address) -> String {
    format!("{address:#x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> PrivateKeySigner {
        // The private key 0x…01: a well-known test key, never funded anywhere.
        let mut key = [0u8; 32];
        key[31] = 1;
        PrivateKeySigner::from_bytes(&key.into()).unwrap()
    }

    fn message() -> ProductRecord {
        typed_message(B256::repeat_byte(0xab), "덩크 로우", "Nike", 500)
    }

    #[test]
    fn the_type_string_is_the_published_one() {
        assert_eq!(
            ProductRecord::eip712_encode_type(),
            "ProductRecord(bytes32 contentHash,string name,string brand,uint32 editionSize)"
        );
    }

    #[test]
    fn signatures_verify_and_every_refusal_has_its_reason() {
        let s = signer();
        let sig = sign(&s, &message(), 31337).unwrap();
        assert!(matches!(sig[64], 27 | 28));
        check_signature(&message(), 31337, &sig, s.address()).unwrap();

        // Another chain id, another message, another signer.
        assert!(matches!(
            check_signature(&message(), 1, &sig, s.address()),
            Err(SignatureError::WrongSigner(_))
        ));
        let mut other = message();
        other.editionSize = 501;
        assert!(matches!(
            check_signature(&other, 31337, &sig, s.address()),
            Err(SignatureError::WrongSigner(_))
        ));
        assert!(matches!(
            check_signature(&message(), 31337, &sig, Address::ZERO),
            Err(SignatureError::WrongSigner(_))
        ));

        // The malleable twin (n − s, flipped v) recovers the same key but is refused.
        let parsed = Signature::from_raw(&sig).unwrap();
        let order = (HALF_ORDER << 1) + U256::from(1);
        let twin = Signature::new(parsed.r(), order - parsed.s(), !parsed.v());
        assert_eq!(
            check_signature(&message(), 31337, &twin.as_bytes(), s.address()),
            Err(SignatureError::HighS)
        );

        let mut v0 = sig;
        v0[64] -= 27;
        assert_eq!(
            check_signature(&message(), 31337, &v0, s.address()),
            Err(SignatureError::V)
        );
        assert_eq!(
            check_signature(&message(), 31337, &sig[..64], s.address()),
            Err(SignatureError::Length)
        );
    }

    #[test]
    fn record_hash_is_sha256_of_the_canonical_bytes() {
        let r = Record {
            protocol: PROTOCOL.into(),
            product_id: Uuid::nil(),
            version: 1,
            previous_content_hash: None,
            seller_address: address_hex(signer().address()),
            name: "n".into(),
            brand: "b".into(),
            category: "c".into(),
            edition_size: 1,
            retail_price_krw: 1000,
            description: String::new(),
            sku: None,
            image_sha256s: vec![],
            created_at: "2026-11-21T00:00:00Z".into(),
        };
        let (bytes, hash) = r.hash();
        assert!(bytes.starts_with(b"{\"brand\":\"b\",\"category\":\"c\",\"created_at\""));
        assert_eq!(hash.0, <[u8; 32]>::from(Sha256::digest(&bytes)));
    }
}
