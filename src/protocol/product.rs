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

/// The record's keys, in canonical order (`docs/PROTOCOLS.md` §1.1).
pub const KEYS: [&str; 14] = [
    "brand",
    "category",
    "created_at",
    "description",
    "edition_size",
    "image_sha256s",
    "name",
    "previous_content_hash",
    "product_id",
    "protocol",
    "retail_price_krw",
    "seller_address",
    "sku",
    "version",
];

/// Whether `s` is `0x` and `digits` lowercase hex digits.
pub fn is_lower_hex(s: &str, digits: usize) -> bool {
    s.strip_prefix("0x").is_some_and(|h| {
        h.len() == digits && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// A text field's rule (§1.1): NFC, trimmed, `min..=max` scalar values, no control character
/// but, where `lines`, line feed, carriage return and tab.
fn text_rule(value: &str, min: usize, max: usize, lines: bool) -> Result<(), String> {
    use unicode_normalization::{IsNormalized, is_nfc_quick};
    let n = value.chars().count();
    if n < min || n > max {
        return Err(format!("is {n} characters, not {min} to {max}"));
    }
    let allowed = |c: char| lines && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err("holds a control character".into());
    }
    if value.trim() != value {
        return Err("has leading or trailing white space".into());
    }
    let nfc = match is_nfc_quick(value.chars()) {
        IsNormalized::Yes => true,
        IsNormalized::No => false,
        IsNormalized::Maybe => unicode_normalization::is_nfc(value),
    };
    if !nfc {
        return Err("is not NFC-normalised".into());
    }
    Ok(())
}

/// Every way `record` breaks the record rules of `docs/PROTOCOLS.md` §1.1 (all 14 keys and no
/// other, each of its JSON type and range, text NFC and trimmed, hex lowercase); empty when it
/// keeps them all. A verifier refuses a record that breaks any, even if its hash and signature
/// hold: the platform never makes one, and two verifiers could read it differently.
pub fn record_violations(record: &Value) -> Vec<String> {
    let Some(fields) = record.as_object() else {
        return vec!["the record is not a JSON object".into()];
    };
    let mut out = Vec::new();
    for key in fields.keys() {
        if !KEYS.contains(&key.as_str()) {
            out.push(format!("`{key}` is not a record key"));
        }
    }
    let mut rule = |key: &str, check: &dyn Fn(&Value) -> Result<(), String>| match fields.get(key) {
        None => out.push(format!("`{key}` is missing")),
        Some(v) => {
            if let Err(why) = check(v) {
                out.push(format!("`{key}` {why}"));
            }
        }
    };
    let text = |min: usize, max: usize| {
        move |v: &Value| match v.as_str() {
            Some(s) => text_rule(s, min, max, false),
            None => Err("is not a string".into()),
        }
    };
    let integer = |max: u64, min: u64| {
        move |v: &Value| match (v.as_u64(), v.as_i64()) {
            (Some(n), _) if (min..=max).contains(&n) => Ok(()),
            (Some(n), _) => Err(format!("is {n}, not {min} to {max}")),
            (None, Some(n)) => Err(format!("is {n}, not {min} to {max}")),
            (None, None) => {
                Err("is not a whole number written without fraction or exponent".into())
            }
        }
    };
    let hash = |v: &Value| match v.as_str() {
        Some(s) if is_lower_hex(s, 64) => Ok(()),
        _ => Err("is not a sha256 as 0x and 64 lowercase hex digits".to_owned()),
    };
    rule("brand", &text(1, 100));
    rule("category", &text(1, 50));
    rule("created_at", &|v| {
        let ok = v.as_str().is_some_and(|s| {
            s.len() == 20
                && s.ends_with('Z')
                && chrono::NaiveDateTime::parse_from_str(&s[..19], "%Y-%m-%dT%H:%M:%S").is_ok()
        });
        if ok {
            Ok(())
        } else {
            Err("is not YYYY-MM-DDTHH:MM:SSZ".into())
        }
    });
    rule("description", &|v| match v.as_str() {
        Some(s) => text_rule(s, 0, 5000, true),
        None => Err("is not a string".into()),
    });
    rule("edition_size", &integer(1_000_000, 1));
    rule("image_sha256s", &|v| match v.as_array() {
        Some(list) if list.len() > 20 => Err(format!("has {} entries, more than 20", list.len())),
        Some(list) => list.iter().try_for_each(hash),
        None => Err("is not an array".into()),
    });
    rule("name", &text(1, 200));
    rule("product_id", &|v| {
        let ok = v.as_str().is_some_and(|s| {
            s.len() == 36 && Uuid::parse_str(s).is_ok_and(|u| u.hyphenated().to_string() == s)
        });
        if ok {
            Ok(())
        } else {
            Err("is not a lowercase hyphenated UUID".into())
        }
    });
    rule("protocol", &|v| match v.as_str() {
        Some(PROTOCOL) => Ok(()),
        _ => Err(format!("is not `{PROTOCOL}`")),
    });
    rule("retail_price_krw", &integer(1_000_000_000_000, 0));
    rule("seller_address", &|v| match v.as_str() {
        Some(s) if is_lower_hex(s, 40) => Ok(()),
        _ => Err("is not an address as 0x and 40 lowercase hex digits".into()),
    });
    rule("sku", &|v| match v {
        Value::Null => Ok(()),
        v => text(1, 64)(v),
    });
    rule("version", &integer(u32::MAX as u64, 1));
    let first = fields.get("version").and_then(Value::as_u64) == Some(1);
    rule("previous_content_hash", &|v| match (v, first) {
        (Value::Null, true) => Ok(()),
        (Value::Null, false) => Err("is null, but the version is not 1".into()),
        (_, true) => Err("must be null for version 1".into()),
        (v, false) => hash(v),
    });
    out
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

/// The EIP-712 digest of a Truffle message (a product record, a unit set, a transfer) in the
/// domain of `chain_id`.
pub fn signing_hash<T: SolStruct>(message: &T, chain_id: u64) -> B256 {
    message.eip712_signing_hash(&domain(chain_id))
}

/// Signs a Truffle message (with a key the platform holds for the seller, or its anchoring key);
/// 65 bytes r ‖ s ‖ v, v 27 or 28, low s.
pub fn sign<T: SolStruct>(
    signer: &PrivateKeySigner,
    message: &T,
    chain_id: u64,
) -> anyhow::Result<[u8; 65]> {
    let sig = signer.sign_hash_sync(&signing_hash(message, chain_id))?;
    // k256 already produces low-s signatures; normalising keeps that true whatever signs.
    Ok(sig.normalized_s().as_bytes())
}

/// Checks a 65-byte signature over `message` by `expected` (refusing high s and v other than 27/28).
pub fn check_signature<T: SolStruct>(
    message: &T,
    chain_id: u64,
    signature: &[u8],
    expected: Address,
) -> Result<(), SignatureError> {
    check_prehash_signature(signing_hash(message, chain_id), signature, expected)
}

/// Checks a 65-byte signature over an EIP-712 digest by `expected`: v 27 or 28, 1 ≤ s ≤ n/2 (the
/// malleable twin refused), and r and s that recover a key (1 ≤ r, s < n).
pub fn check_prehash_signature(
    digest: B256,
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
        .recover_address_from_prehash(&digest)
        .map_err(|_| SignatureError::Unrecoverable)?;
    if signer == expected {
        Ok(())
    } else {
        Err(SignatureError::WrongSigner(signer))
    }
}

/// The typed data of `primary` (its fields as `[{name, type}]`) and `message`, in the domain of
/// [`domain`], as `eth_signTypedData_v4` and `cast wallet verify --data` take it. (ethers'
/// `verifyTypedData` wants `types` without `EIP712Domain`.)
pub fn typed_data(primary: &str, fields: Value, message: Value, chain_id: u64) -> Value {
    json!({
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"}
            ],
            primary: fields
        },
        "primaryType": primary,
        "domain": {"name": "Truffle", "version": "1", "chainId": chain_id},
        "message": message
    })
}

/// The typed data of a product record's signature ([`typed_data`]).
pub fn typed_data_json(message: &ProductRecord, chain_id: u64) -> Value {
    typed_data(
        "ProductRecord",
        json!([
            {"name": "contentHash", "type": "bytes32"},
            {"name": "name", "type": "string"},
            {"name": "brand", "type": "string"},
            {"name": "editionSize", "type": "uint32"}
        ]),
        json!({
            "contentHash": message.contentHash.to_string(),
            "name": message.name,
            "brand": message.brand,
            "editionSize": message.editionSize
        }),
        chain_id,
    )
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

    /// Every record rule of `docs/PROTOCOLS.md` §1.1 refuses what breaks it, naming the key, and
    /// only that; the platform's own records keep them all.
    #[test]
    fn record_rules_refuse_each_break_by_its_key() {
        let mut genuine = Record {
            protocol: PROTOCOL.into(),
            product_id: Uuid::now_v7(),
            version: 2,
            previous_content_hash: Some(format!("0x{}", "ab".repeat(32))),
            seller_address: address_hex(signer().address()),
            name: "나이키 덩크 로우".into(),
            brand: "Nike".into(),
            category: "sneakers".into(),
            edition_size: 500,
            retail_price_krw: 129_000,
            description: "첫 줄\n둘째 줄\t탭".into(),
            sku: Some("DD1391-100".into()),
            image_sha256s: vec![format!("0x{}", "cd".repeat(32))],
            created_at: "2026-11-21T09:00:00Z".into(),
        }
        .to_json();
        assert_eq!(record_violations(&genuine), Vec::<String>::new());
        let nfd: String = {
            use unicode_normalization::UnicodeNormalization;
            "나이키".nfd().collect()
        };
        let cases: Vec<(&str, Value)> = vec![
            ("brand", json!(" Nike")),
            ("brand", json!("")),
            ("brand", json!(7)),
            ("category", json!("x".repeat(51))),
            ("created_at", json!("2026-11-21T09:00:00.000Z")),
            ("created_at", json!("2026-02-30T09:00:00Z")),
            ("description", json!("종\u{7}소리")),
            ("edition_size", json!(0)),
            ("edition_size", json!(500.0)),
            ("edition_size", json!("500")),
            ("image_sha256s", json!([format!("0x{}", "CD".repeat(32))])),
            ("name", json!(nfd)),
            ("name", json!("두 줄\n이름")),
            ("previous_content_hash", Value::Null),
            ("product_id", json!("0192F5A4-C3D2-7E0B-9A3C-1D2E3F405162")),
            ("protocol", json!("truffle.product/2")),
            ("retail_price_krw", json!(-1)),
            (
                "seller_address",
                json!("0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"),
            ),
            ("sku", json!("")),
            ("version", json!(0)),
        ];
        for (key, value) in cases {
            let mut broken = genuine.clone();
            broken[key] = value.clone();
            let found = record_violations(&broken);
            assert!(
                found.len() == 1 && found[0].starts_with(&format!("`{key}`")),
                "{key} = {value}: {found:?}"
            );
        }
        // Version 1 has no previous hash; a key too many or too few is named.
        genuine["version"] = json!(1);
        assert_eq!(record_violations(&genuine).len(), 1);
        genuine["previous_content_hash"] = Value::Null;
        assert_eq!(record_violations(&genuine), Vec::<String>::new());
        genuine["colour"] = json!("white");
        genuine.as_object_mut().unwrap().remove("sku");
        let found = record_violations(&genuine);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().any(|f| f.starts_with("`colour`")));
        assert!(found.iter().any(|f| f.starts_with("`sku` is missing")));
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
