//! The test vectors of `docs/PROTOCOLS.md`, checked against the real code.
//!
//! Every literal here is printed in `docs/PROTOCOLS.md` and was produced by this code: if a test
//! fails, either the code changed a public protocol (that is a new protocol version, never an
//! edit) or the document and this file have drifted apart. Fix the one that is wrong; never
//! "refresh" a literal to make a failure go away.
//!
//! Uses only `truffle::protocol` and the registry's ABI bindings (`truffle::chain::TruffleRegistry`
//! from the committed contract artifact, made at compile time): no database, no network.

use alloy::primitives::{Address, B256, FixedBytes, U256, hex, keccak256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolError, SolEvent, SolStruct};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use truffle::chain::TruffleRegistry;
use truffle::protocol::bundle::ProofBundle;
use truffle::protocol::draw::{self, DrawRecord};
use truffle::protocol::merkle::{self, Hash, MerkleTree};
use truffle::protocol::{jcs, product};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

const CHAIN_ID: u64 = 31337;
const SELLER: &str = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf";
const IMAGE_SHA256: &str = "0x6bf9208d2fa6c6ba297e713fbb3a4521d06612980bb06d0d9926126a20d5ec70";

const CANONICAL: &str = r#"{"brand":"Nike","category":"sneakers","created_at":"2026-11-21T09:00:00Z","description":"흰색과 검은색 가죽의 2021년 복각 모델.","edition_size":500,"image_sha256s":["0x6bf9208d2fa6c6ba297e713fbb3a4521d06612980bb06d0d9926126a20d5ec70"],"name":"나이키 덩크 로우 레트로 판다","previous_content_hash":null,"product_id":"0192f5a4-c3d2-7e0b-9a3c-1d2e3f405162","protocol":"truffle.product/1","retail_price_krw":129000,"seller_address":"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf","sku":"DD1391-100","version":1}"#;
const CANONICAL_LEN: usize = 530;
const CONTENT_HASH: &str = "0xf84f26205020a1b465cd49861b6453c0284f92b448e257cc16bf6f380abbaa75";

const TYPE_STRING: &str =
    "ProductRecord(bytes32 contentHash,string name,string brand,uint32 editionSize)";
const TYPE_HASH: &str = "0xe7e236ed41a9ee38338346d6bc9d287ee6364c7c4dddba3ba5869e2d4806c831";
const DOMAIN_SEPARATOR: &str = "0xdef4171412a673f32aff2074f05da2b67e1dcf200dd9b4041e4782d7f0d3a3bd";
const STRUCT_HASH: &str = "0x47e3aca3677c59e9e4d01c6ef2c1ce6a9bbe4ece3dc30c25078c5a0a6e4bc7fb";
const SIGNING_HASH: &str = "0xf3eea3047489d9e8b5de82f39da9677d3f7a02c0d8a8a53a2dc454a5604d9186";
const SIGNATURE: &str = "0x28822ff1aaa6d0cc61a623489583e57a484c11c6dbd763cd840204172b6b1e9b0512fb20f0dd3ce4edaf90c0a0c21380ed918d4fb91dfcf37763488f197976d11c";
/// The same signature with s replaced by n − s and v flipped: recovers the same key, refused.
const HIGH_S_TWIN: &str = "0x28822ff1aaa6d0cc61a623489583e57a484c11c6dbd763cd840204172b6b1e9bfaed04df0f22c31b12506f3f5f3dec7dcd1d4f96f62aa348486f15fdb6bcca701b";

/// secp256k1's group order n, and n/2 (rounded down): the largest s accepted.
const SECP256K1_N: &str = "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
const HALF_N: &str = "0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0";
const DOMAIN_TYPE_HASH: &str = "0xc2f8787176b8ac6bf7215b4adcc1e069bf4ab82d9ab1df05a57a91d425935b6e";

/// Content hashes sha256("a"), sha256("b"), sha256("c") and their leaves.
const ABC: [(&str, &str, &str); 3] = [
    (
        "a",
        "0xca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
        "0xa23bd5b06da9048238a65b3f1d9d0b9e15fae3dde262688e6489aa4c763d1820",
    ),
    (
        "b",
        "0x3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d",
        "0xa0d9f0a50b35b9f7d7edc57fb64f4771ddef0fefeaca4e6f949a1514db5b136d",
    ),
    (
        "c",
        "0x2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6",
        "0x6a3fc11b79f836bda340e75c8906e961b8adf4d6a08a2b992e3f38cd6ff38ebf",
    ),
];
/// The leaves in tree order: c, b, a.
const ABC_SORTED: [&str; 3] = [
    "0x6a3fc11b79f836bda340e75c8906e961b8adf4d6a08a2b992e3f38cd6ff38ebf",
    "0xa0d9f0a50b35b9f7d7edc57fb64f4771ddef0fefeaca4e6f949a1514db5b136d",
    "0xa23bd5b06da9048238a65b3f1d9d0b9e15fae3dde262688e6489aa4c763d1820",
];
/// sha256(0x01 ‖ leaf(c) ‖ leaf(b)).
const ABC_NODE_01: &str = "0x291208811668f898eaaa99780c66db0f4cfd2e5b36f6c03fdca445fdec208cf0";
const ABC_ROOT: &str = "0xdd67a4e94fcb4fff954bcb093257364a5b5d0832bda9ffb7a5b6340e45ca647b";

/// The example bundle of docs/PROTOCOLS.md: the record above, anchored in a batch with
/// sha256("a"), sha256("b") and sha256("c"). (tx_hash, block_number and block_time came from a
/// local anvil; they are not checked here.)
const EXAMPLE_BUNDLE: &str = r#"{
  "protocol": "truffle.product/1",
  "anchor_protocol": "truffle.anchor/1",
  "record": {
    "brand": "Nike",
    "category": "sneakers",
    "created_at": "2026-11-21T09:00:00Z",
    "description": "흰색과 검은색 가죽의 2021년 복각 모델.",
    "edition_size": 500,
    "image_sha256s": [
      "0x6bf9208d2fa6c6ba297e713fbb3a4521d06612980bb06d0d9926126a20d5ec70"
    ],
    "name": "나이키 덩크 로우 레트로 판다",
    "previous_content_hash": null,
    "product_id": "0192f5a4-c3d2-7e0b-9a3c-1d2e3f405162",
    "protocol": "truffle.product/1",
    "retail_price_krw": 129000,
    "seller_address": "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf",
    "sku": "DD1391-100",
    "version": 1
  },
  "content_hash": "0xf84f26205020a1b465cd49861b6453c0284f92b448e257cc16bf6f380abbaa75",
  "seller_address": "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf",
  "signature": "0x28822ff1aaa6d0cc61a623489583e57a484c11c6dbd763cd840204172b6b1e9b0512fb20f0dd3ce4edaf90c0a0c21380ed918d4fb91dfcf37763488f197976d11c",
  "eip712": {
    "types": {
      "EIP712Domain": [
        { "name": "name", "type": "string" },
        { "name": "version", "type": "string" },
        { "name": "chainId", "type": "uint256" }
      ],
      "ProductRecord": [
        { "name": "contentHash", "type": "bytes32" },
        { "name": "name", "type": "string" },
        { "name": "brand", "type": "string" },
        { "name": "editionSize", "type": "uint32" }
      ]
    },
    "primaryType": "ProductRecord",
    "domain": { "name": "Truffle", "version": "1", "chainId": 31337 },
    "message": {
      "contentHash": "0xf84f26205020a1b465cd49861b6453c0284f92b448e257cc16bf6f380abbaa75",
      "name": "나이키 덩크 로우 레트로 판다",
      "brand": "Nike",
      "editionSize": 500
    }
  },
  "leaf": "0x1a10d1cd5c2aebf65a763b8997a180d02dc0103d7865c046dad626a4a4746e60",
  "proof": [
    "0x6a3fc11b79f836bda340e75c8906e961b8adf4d6a08a2b992e3f38cd6ff38ebf",
    "0x73a57aee9ae28c072b7e0ed9b56a57a69cc6fb048a723d7f052177084d1250ee"
  ],
  "root": "0xba08c443b85148f1f02c29b826b78133144b8fc3667396413d7099c27bc7bf81",
  "chain_id": 31337,
  "contract_address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
  "tx_hash": "0x3e3fea59d0251e90a54f85c17fa5cc69578bbb01fb6374ff4d22296367078c8b",
  "block_number": 2,
  "block_time": "2026-11-21T09:00:04Z"
}"#;

fn h256(s: &str) -> Hash {
    s.parse::<B256>().expect("a 0x-hex hash").0
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// The private key 0x00…01: a well-known test key, never funded anywhere.
fn signer() -> PrivateKeySigner {
    let mut key = [0u8; 32];
    key[31] = 1;
    PrivateKeySigner::from_bytes(&key.into()).expect("a valid key")
}

fn record() -> product::Record {
    product::Record {
        protocol: product::PROTOCOL.into(),
        product_id: Uuid::parse_str("0192f5a4-c3d2-7e0b-9a3c-1d2e3f405162").unwrap(),
        version: 1,
        previous_content_hash: None,
        seller_address: product::address_hex(signer().address()),
        name: "나이키 덩크 로우 레트로 판다".into(),
        brand: "Nike".into(),
        category: "sneakers".into(),
        edition_size: 500,
        retail_price_krw: 129_000,
        description: "흰색과 검은색 가죽의 2021년 복각 모델.".into(),
        sku: Some("DD1391-100".into()),
        image_sha256s: vec![IMAGE_SHA256.into()],
        created_at: "2026-11-21T09:00:00Z".into(),
    }
}

fn message() -> product::ProductRecord {
    let r = record();
    product::typed_message(
        CONTENT_HASH.parse().unwrap(),
        &r.name,
        &r.brand,
        r.edition_size,
    )
}

#[test]
fn the_seller_and_image_hash_inputs() {
    assert_eq!(product::address_hex(signer().address()), SELLER);
    assert_eq!(
        hex0x(&Sha256::digest(b"truffle example image")),
        IMAGE_SHA256
    );
}

#[test]
fn the_record_text_is_nfc() {
    let r = record();
    for s in [&r.name, &r.brand, &r.category, &r.description] {
        assert_eq!(s.nfc().collect::<String>(), *s);
    }
    // The same name written as conjoining jamo (NFD) is other bytes, so another content hash.
    let mut nfd = r.clone();
    nfd.name = r.name.nfd().collect();
    assert_ne!(nfd.name, r.name);
    assert_ne!(nfd.hash().1, r.hash().1);
}

#[test]
fn record_canonical_bytes_and_content_hash() {
    let (bytes, hash) = record().hash();
    assert_eq!(String::from_utf8(bytes.clone()).unwrap(), CANONICAL);
    assert_eq!(bytes.len(), CANONICAL_LEN);
    assert_eq!(hash.to_string(), CONTENT_HASH);
    assert_eq!(hex0x(&Sha256::digest(CANONICAL.as_bytes())), CONTENT_HASH);
    // Canonicalising the canonical form (or any re-ordering of it) changes nothing.
    let parsed: Value = serde_json::from_str(CANONICAL).unwrap();
    assert_eq!(
        product::canonical_bytes(&parsed).unwrap(),
        CANONICAL.as_bytes()
    );
}

#[test]
fn jcs_examples() {
    let canon = |v: Value| String::from_utf8(jcs::canonicalize(&v).unwrap()).unwrap();
    assert_eq!(
        canon(json!({"b": [1, {"d": null, "c": true}], "a": "x\"\\\n\u{1}한"})),
        r#"{"a":"x\"\\\n\u0001한","b":[1,{"c":true,"d":null}]}"#
    );
    // Keys sort by UTF-16 code units: U+FB33 (0xFB33) after U+1F600 (0xD83D 0xDE00).
    assert_eq!(
        canon(json!({"\u{fb33}": 1, "\u{1f600}": 2, "€": 3, "Z": 4, "a": 5})),
        "{\"Z\":4,\"a\":5,\"€\":3,\"\u{1f600}\":2,\"\u{fb33}\":1}"
    );
    assert_eq!(canon(json!(9007199254740991u64)), "9007199254740991");
    assert!(jcs::canonicalize(&json!(9007199254740992u64)).is_err());
    assert!(jcs::canonicalize(&json!(1.5)).is_err());
}

#[test]
fn eip712_hashes_and_signature() {
    let m = message();
    assert_eq!(product::ProductRecord::eip712_encode_type(), TYPE_STRING);
    assert_eq!(m.eip712_type_hash().to_string(), TYPE_HASH);
    assert_eq!(m.eip712_hash_struct().to_string(), STRUCT_HASH);
    assert_eq!(
        product::domain(CHAIN_ID).separator().to_string(),
        DOMAIN_SEPARATOR
    );
    assert_eq!(
        product::signing_hash(&m, CHAIN_ID).to_string(),
        SIGNING_HASH
    );

    let sig = product::sign(&signer(), &m, CHAIN_ID).unwrap();
    assert_eq!(hex0x(&sig), SIGNATURE);
    let seller: Address = SELLER.parse().unwrap();
    product::check_signature(&m, CHAIN_ID, &sig, seller).unwrap();

    let twin = hex::decode(HIGH_S_TWIN).unwrap();
    assert_eq!(
        product::check_signature(&m, CHAIN_ID, &twin, seller),
        Err(product::SignatureError::HighS)
    );
    // Signed for another chain id, it is another message.
    assert!(matches!(
        product::check_signature(&m, 1, &sig, seller),
        Err(product::SignatureError::WrongSigner(_))
    ));
}

/// The EIP-712 formulas as docs/PROTOCOLS.md §2 writes them, computed by hand, give the values
/// alloy computes; the signature splits into the r, s and v printed there.
#[test]
fn eip712_formulas_as_written() {
    let word = |n: u64| U256::from(n).to_be_bytes::<32>();
    assert_eq!(
        keccak256("EIP712Domain(string name,string version,uint256 chainId)").to_string(),
        DOMAIN_TYPE_HASH
    );
    assert_eq!(keccak256(TYPE_STRING).to_string(), TYPE_HASH);
    let domain_separator = keccak256(
        [
            &h256(DOMAIN_TYPE_HASH)[..],
            &keccak256("Truffle")[..],
            &keccak256("1")[..],
            &word(CHAIN_ID)[..],
        ]
        .concat(),
    );
    assert_eq!(domain_separator.to_string(), DOMAIN_SEPARATOR);
    let r = record();
    let struct_hash = keccak256(
        [
            &h256(TYPE_HASH)[..],
            &h256(CONTENT_HASH)[..],
            &keccak256(r.name.as_bytes())[..],
            &keccak256(r.brand.as_bytes())[..],
            &word(r.edition_size.into())[..],
        ]
        .concat(),
    );
    assert_eq!(struct_hash.to_string(), STRUCT_HASH);
    let signing = keccak256([&[0x19, 0x01][..], &domain_separator[..], &struct_hash[..]].concat());
    assert_eq!(signing.to_string(), SIGNING_HASH);

    let sig = hex::decode(SIGNATURE).unwrap();
    assert_eq!(
        hex0x(&sig[..32]),
        "0x28822ff1aaa6d0cc61a623489583e57a484c11c6dbd763cd840204172b6b1e9b"
    );
    assert_eq!(
        hex0x(&sig[32..64]),
        "0x0512fb20f0dd3ce4edaf90c0a0c21380ed918d4fb91dfcf37763488f197976d1"
    );
    assert_eq!(sig[64], 28);
    let n: U256 = SECP256K1_N.parse().unwrap();
    let half: U256 = HALF_N.parse().unwrap();
    assert_eq!(n >> 1, half);
    let s = U256::from_be_slice(&sig[32..64]);
    assert!(s <= half);
    let twin = hex::decode(HIGH_S_TWIN).unwrap();
    assert_eq!(twin[..32], sig[..32]);
    assert_eq!(U256::from_be_slice(&twin[32..64]), n - s);
    assert_eq!(twin[64], 27);
}

/// The registry's selectors and event topics printed in docs/PROTOCOLS.md §3.2.
#[test]
fn registry_selectors_and_topics() {
    let selector = |sig: &str| hex0x(&keccak256(sig)[..4]);
    for (sig, expected) in [
        ("anchoredAt(bytes32)", "0x9591a610"),
        ("revokedAt(bytes32)", "0x098787ce"),
        ("leafOf(bytes32)", "0x4ee876dd"),
        ("verifyProof(bytes32,bytes32[],bytes32)", "0x58161a42"),
        ("recordStatus(bytes32,bytes32[],bytes32)", "0x68515ad7"),
        ("anchor(bytes32)", "0xeecdf927"),
        ("revoke(bytes32)", "0xb75c7dc6"),
    ] {
        assert_eq!(selector(sig), expected, "{sig}");
    }
    assert_eq!(
        keccak256("Anchored(bytes32,uint64,address)").to_string(),
        "0x04c6e8902af2455403f7e7d6149fbf152c5b047361b508768fbc613faadf38bf"
    );
    assert_eq!(
        keccak256("Revoked(bytes32,uint64,address)").to_string(),
        "0x4cd78311591d4b772507aa2e2c4fffa6dea50d05f644c70a44de6bef49ae1c97"
    );
}

#[test]
fn three_leaf_tree() {
    let hashes: Vec<Hash> = ABC
        .iter()
        .map(|(text, content_hash, leaf)| {
            let ch: Hash = Sha256::digest(text.as_bytes()).into();
            assert_eq!(hex0x(&ch), *content_hash);
            assert_eq!(hex0x(&merkle::leaf(&ch)), *leaf);
            ch
        })
        .collect();
    let tree = MerkleTree::from_content_hashes(&hashes).unwrap();
    let sorted: Vec<String> = tree.leaves().iter().map(|l| hex0x(l)).collect();
    assert_eq!(sorted, ABC_SORTED);
    let leaves: Vec<Hash> = ABC_SORTED.iter().map(|l| h256(l)).collect();
    assert_eq!(hex0x(&merkle::node(&leaves[0], &leaves[1])), ABC_NODE_01);
    assert_eq!(hex0x(&tree.root()), ABC_ROOT);

    let expected_proofs: [(&str, &[&str]); 3] = [
        (ABC_SORTED[0], &[ABC_SORTED[1], ABC_SORTED[2]]),
        (ABC_SORTED[1], &[ABC_SORTED[0], ABC_SORTED[2]]),
        (ABC_SORTED[2], &[ABC_NODE_01]),
    ];
    for (leaf, expected) in expected_proofs {
        let proof: Vec<String> = tree
            .proof(&h256(leaf))
            .unwrap()
            .iter()
            .map(|p| hex0x(p))
            .collect();
        assert_eq!(proof, expected, "proof of {leaf}");
        let proof: Vec<Hash> = expected.iter().map(|p| h256(p)).collect();
        assert!(merkle::verify(&h256(leaf), &proof, &h256(ABC_ROOT)));
    }
    // Duplicates collapse: the same three hashes twice make the same tree.
    let twice: Vec<Hash> = hashes.iter().chain(&hashes).copied().collect();
    assert_eq!(
        MerkleTree::from_content_hashes(&twice).unwrap().root(),
        tree.root()
    );
}

/// What `truffle verify` checks offline (steps 1–5 of docs/PROTOCOLS.md), on the example bundle.
#[test]
fn example_bundle_checks_out() {
    let b: ProofBundle = serde_json::from_str(EXAMPLE_BUNDLE).unwrap();
    assert_eq!(b.protocol, "truffle.product/1");
    assert_eq!(b.anchor_protocol, "truffle.anchor/1");
    // 1. The chain and registry a devnet verifier trusts.
    assert_eq!(b.chain_id, CHAIN_ID);
    assert_eq!(
        b.contract_address.parse::<Address>().unwrap(),
        "0x5FbDB2315678afecb367f032d93F642f64180aa3"
            .parse::<Address>()
            .unwrap()
    );
    // 2. The content hash.
    let canonical = product::canonical_bytes(&b.record).unwrap();
    assert_eq!(String::from_utf8(canonical.clone()).unwrap(), CANONICAL);
    assert_eq!(
        product::content_hash_of(&canonical).to_string(),
        b.content_hash
    );
    assert_eq!(b.content_hash, CONTENT_HASH);
    assert_eq!(b.record, record().to_json());
    // 3. Protocol and seller.
    assert_eq!(b.record["protocol"], product::PROTOCOL);
    assert_eq!(b.record["seller_address"], b.seller_address.as_str());
    // 4. The signature, over the message rebuilt from the record and the trusted chain id.
    assert_eq!(b.signature, SIGNATURE);
    assert_eq!(b.eip712, product::typed_data_json(&message(), CHAIN_ID));
    product::check_signature(
        &message(),
        CHAIN_ID,
        &hex::decode(&b.signature).unwrap(),
        b.seller_address.parse().unwrap(),
    )
    .unwrap();
    // 5. Leaf and proof; the root is that of the batch {record, sha256 a, b, c}.
    let ch = h256(CONTENT_HASH);
    assert_eq!(h256(&b.leaf), merkle::leaf(&ch));
    let proof: Vec<Hash> = b.proof.iter().map(|p| h256(p)).collect();
    assert!(merkle::verify(&h256(&b.leaf), &proof, &h256(&b.root)));
    let mut batch: Vec<Hash> = ABC.iter().map(|(_, c, _)| h256(c)).collect();
    batch.push(ch);
    let tree = MerkleTree::from_content_hashes(&batch).unwrap();
    assert_eq!(hex0x(&tree.root()), b.root);
    assert_eq!(tree.proof(&merkle::leaf(&ch)).unwrap(), proof);
}

/// The refusal vectors of docs/PROTOCOLS.md §5.6: each one change to the text of the §5.4
/// bundle (its first occurrence), and what refuses it: `reading` (the bundle is not read at
/// all) or the checks of §4.2 that fail, in their order.
const REFUSALS: &[(&str, &str, &[&str])] = &[
    (
        r#""name": "나이키 덩크 로우 레트로 판다","#,
        r#""name": "가짜 덩크 로우", "name": "나이키 덩크 로우 레트로 판다","#,
        &["reading"],
    ),
    (
        r#""block_number": 2,"#,
        r#""block_number": 2, "note": "verified by Truffle","#,
        &["reading"],
    ),
    (
        r#""chain_id": 31337,"#,
        r#""chain_id": "31337","#,
        &["reading"],
    ),
    (
        r#""content_hash": "0xf84f2620"#,
        r#""content_hash": "0xF84F2620"#,
        &["bundle form"],
    ),
    (
        r#""block_time": "2026-11-21T09:00:04Z""#,
        r#""block_time": "2026-11-21T09:00:04.000Z""#,
        &["bundle form"],
    ),
    (
        r#""contract_address": "0x5fbdb2315678afecb367f032d93f642f64180aa3""#,
        r#""contract_address": "0x5FbDB2315678afecb367f032d93F642f64180aa3""#,
        &["bundle form", "trusted registry"],
    ),
    (
        r#""protocol": "truffle.product/1","#,
        r#""protocol": "truffle.product/9","#,
        &["protocols"],
    ),
    (
        r#""anchor_protocol": "truffle.anchor/1","#,
        r#""anchor_protocol": "truffle.anchor/2","#,
        &["protocols"],
    ),
    (
        r#""chain_id": 31337,"#,
        r#""chain_id": 1,"#,
        &["trusted registry"],
    ),
    (
        r#""edition_size": 500,"#,
        r#""edition_size": 500.0,"#,
        &[
            "record rules",
            "content hash",
            "typed data",
            "seller signature",
        ],
    ),
    (
        r#""brand": "Nike","#,
        r#""brand": " Nike","#,
        &[
            "record rules",
            "content hash",
            "typed data",
            "seller signature",
        ],
    ),
    (
        r#""sku": "DD1391-100","#,
        r#""sku": "DD1391-100", "colour": "white","#,
        &["record rules", "content hash"],
    ),
    (
        r#""domain": { "name": "Truffle", "version": "1", "chainId": 31337 }"#,
        r#""domain": { "name": "Truffle", "version": "1", "chainId": 1 }"#,
        &["typed data"],
    ),
    (
        SIGNATURE,
        "0x28822ff1aaa6d0cc61a623489583e57a484c11c6dbd763cd840204172b6b1e9bfaed04df0f22c31b12506f3f5f3dec7dcd1d4f96f62aa348486f15fdb6bcca701b",
        &["seller signature"],
    ),
    ("976d11c\"", "976d101\"", &["seller signature"]),
    (
        r#""0x6a3fc11b79f836bda340e75c8906e961b8adf4d6a08a2b992e3f38cd6ff38ebf",
    "0x73a57aee9ae28c072b7e0ed9b56a57a69cc6fb048a723d7f052177084d1250ee""#,
        r#""0x73a57aee9ae28c072b7e0ed9b56a57a69cc6fb048a723d7f052177084d1250ee",
    "0x6a3fc11b79f836bda340e75c8906e961b8adf4d6a08a2b992e3f38cd6ff38ebf""#,
        &["merkle proof"],
    ),
];

/// The §5.4 bundle passes checks 1–9 of §4.2, and each refusal vector of §5.6 is refused by
/// exactly the checks printed beside it; so is the record's name in NFD.
#[test]
fn refusal_vectors_are_refused_by_the_named_checks() {
    use truffle::chain::verify::{Trust, verify_bundle_offline};
    use truffle::protocol::ijson;
    let trust = Trust {
        rpc_url: "http://127.0.0.1:1".into(),
        chain_id: CHAIN_ID,
        registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3"
            .parse()
            .unwrap(),
        confirmations: 1,
    };
    let refused_by = |text: &str| -> Vec<String> {
        match ijson::from_str::<ProofBundle>(text) {
            Err(_) => vec!["reading".to_owned()],
            Ok(b) => verify_bundle_offline(&b, &trust)
                .failed()
                .into_iter()
                .map(str::to_owned)
                .collect(),
        }
    };
    assert_eq!(refused_by(EXAMPLE_BUNDLE), Vec::<String>::new());
    for (from, to, expected) in REFUSALS {
        let text = EXAMPLE_BUNDLE.replacen(from, to, 1);
        assert_ne!(text, EXAMPLE_BUNDLE, "{from} is not in the bundle");
        assert_eq!(refused_by(&text), *expected, "{from} → {to}");
    }
    // The record's name in NFD (each Hangul syllable as conjoining jamo): it looks the same.
    let name = "나이키 덩크 로우 레트로 판다";
    let nfd: String = name.nfd().collect();
    let record_name = format!(r#""name": "{name}","#);
    let text = EXAMPLE_BUNDLE.replacen(&record_name, &format!(r#""name": "{nfd}","#), 1);
    assert_eq!(
        refused_by(&text),
        [
            "record rules",
            "content hash",
            "typed data",
            "seller signature"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// truffle.draw/1 (docs/PROTOCOLS.md §7)
// ---------------------------------------------------------------------------------------------

const RAFFLE_ID: &str = "01930b6e-5a2c-7d41-8f3e-6b1c2d3e4f50";
/// The raffle id as `bytes16`: the UUID's 16 bytes in written order.
const RAFFLE_KEY: &str = "0x01930b6e5a2c7d418f3e6b1c2d3e4f50";
/// Entry ids and their tickets sha256("truffle.entry/1" ‖ raffle id ‖ entry id), in entry
/// order.
const ENTRIES: [(&str, &str); 3] = [
    (
        "01930b6e-9f10-7a01-b2c3-d4e5f6071801",
        "0xe9ec5da411efab5a2e134d68d2b40dc1419205e087007d8387ff15434329af4c",
    ),
    (
        "01930b6e-9f10-7a01-b2c3-d4e5f6071802",
        "0x74076ec1cfa7b847e2a5bf61ee5d9973c93d3cbcdb152e701d6b10a0b53edb78",
    ),
    (
        "01930b6e-9f10-7a01-b2c3-d4e5f6071803",
        "0x3f2b21ae8cf455a1bbc9398a691eedb2ffb1d5615586a218014156e105714e1a",
    ),
];
/// The 47 bytes hashed into the first entry's ticket.
const TICKET_1_PREIMAGE: &str = "0x74727566666c652e656e7472792f3101930b6e5a2c7d418f3e6b1c2d3e4f5001930b6e9f107a01b2c3d4e5f6071801";
/// The published list: the three tickets sorted ascending, each with its Merkle leaf.
const TICKETS_SORTED: [(&str, &str); 3] = [
    (
        "0x3f2b21ae8cf455a1bbc9398a691eedb2ffb1d5615586a218014156e105714e1a",
        "0x3ce5ffbfac46194efb8d21f6343452aff33ea93f60c385585719cbca385aafbe",
    ),
    (
        "0x74076ec1cfa7b847e2a5bf61ee5d9973c93d3cbcdb152e701d6b10a0b53edb78",
        "0x51f9605fb697be2be6e023b46276b145703c8baf71ed7758516afcd840936f6f",
    ),
    (
        "0xe9ec5da411efab5a2e134d68d2b40dc1419205e087007d8387ff15434329af4c",
        "0xa7e6ca24aca2a1799d1fd0878eb2bb6b3ef7fa1f0604ca4668f560892637efe5",
    ),
];
/// node(leaf of the first sorted ticket, leaf of the second).
const TICKET_NODE_01: &str = "0xe63a51953b7341bf8333d924789e871acd46479fde2230e3d92e213c624ee0f9";
const TICKET_ROOT: &str = "0x4390c01bb22dc9a438c3033f10cb7c1607c72decfb27e2d53b9112fa9031c617";

/// seed = sha256("truffle demo seed"); the block hash stands in for blockhash(b + 1) and is
/// sha256("truffle demo block"); R = sha256(seed ‖ block hash).
const SEED: &str = "0x03e9cbbb15c270cad29daf733f7938557130c797ca1191f1a56a5079ab06f0f4";
const SEED_HASH: &str = "0x7d995076dab081d5a6124fc3fb90de2c1bee1458ae25e7edb8ac41d69cf21405";
const BLOCK_HASH: &str = "0x77d12e5d83211ce6d9d3c9230bbbdfefc24c58339ef4ff08ee29d156e0c3b6d3";
const RANDOMNESS: &str = "0xf746a739dd86321c69670ba1dbce3ab45237d182059b7e6580671986eeb9ffc7";
/// The stream sha256(R ‖ be64(counter)) for counter 0..3, and x = its first 8 bytes (big-endian).
const STREAM: [(&str, u64); 4] = [
    (
        "0x16a1a1a6b3f2716d269079fb48df799f1d2a09f11ffea3761a29903295d7004f",
        1630762277440483693,
    ),
    (
        "0x7dd672d4fa39dc53bb3707b16c73ea9591150f275e0192ecf033bed6a10fe47a",
        9067561158813801555,
    ),
    (
        "0xd807ae6f29aa8eae1df2aad9b28acd1cf2f47f2cfa7432775b7cd8df55f908df",
        15566602429493055150,
    ),
    (
        "0x42f38afa265c5605dd7300e96352785060860e63be152069b4d1ee01d19ed3c5",
        4824352432833975813,
    ),
];
/// Three tickets, one winner: the j of each step (i = 2, 1), then the order as indexes into
/// the sorted list.
const J_3: [u64; 2] = [1, 1];
const ORDER_3: [u32; 3] = [0, 2, 1];

/// sha256 of the ASCII strings "t0".."t9", sorted ascending (which string each one is).
const TEN_SORTED: [(&str, &str); 10] = [
    (
        "t7",
        "0x3e6558d0cb97f9bd3e8a25ae442f7ef7d95de26e56b6fd69df10be97e8a21563",
    ),
    (
        "t0",
        "0x512f26ada3c3d634ac3c6b12b7b33cb50bb0963c3f6d9924241619c84ec78ff2",
    ),
    (
        "t1",
        "0x628b49d96dcde97a430dd4f597705899e09a968f793491e4b704cae33a40dc02",
    ),
    (
        "t6",
        "0x8a37b83c96f1aa17d63d5db633defe9edaca1d3958f2eae81c94b48be948e4f6",
    ),
    (
        "t4",
        "0xa2f1a68a3cf7bab14245ba34e6a348b6822aceb4a9ec7ad04a86c2c93ca1a28a",
    ),
    (
        "t2",
        "0xc44474038d459e40e4714afefa7bf8dae9f9834b22f5e8ec1dd434ecb62b512e",
    ),
    (
        "t3",
        "0xcece8a9cecfb6c7e7ee4f3346d5e2544138bfb6e33bec6042a17333a4d3180b0",
    ),
    (
        "t8",
        "0xd5fa38a1f8a14002509297c163336a28806979e6195592f4df64060dda39a9be",
    ),
    (
        "t9",
        "0xef46a230cfb0c087fdd8883bc989a3eaa253428f9f6033335e0cee7173c42a92",
    ),
    (
        "t5",
        "0xf413e43d74f8178745c1acb48b2741438ab9ddccf3ed0a4dd451b0419f7ba837",
    ),
];
const TEN_ROOT: &str = "0xc25631e78638c8540928d68c8625fe71f78c164ce9cacb788e500740c12b3e64";
/// Ten tickets, three winners: the x of the draws at counters 4..8 (0..3 are `STREAM`), the j
/// of each step (i = 9 down to 1), and the order as indexes into the sorted list.
const X_10_MORE: [u64; 5] = [
    7106965840613793548,
    5607502248973781315,
    6622673936310840456,
    106822768509918977,
    1395570737756263225,
];
const J_10: [u64; 9] = [3, 3, 6, 2, 2, 0, 0, 2, 1];
const ORDER_10: [u32; 10] = [8, 1, 5, 4, 0, 7, 2, 6, 9, 3];

/// The example draw record of docs/PROTOCOLS.md §7.10.5: the three tickets above, one winner.
/// Its block hash is the stand-in above, so it is on no chain; `close_block` and the three
/// transaction hashes (sha256 of "truffle example commit tx", "… close tx", "… reveal tx") are
/// illustrative too.
const EXAMPLE_DRAW: &str = r#"{
  "protocol": "truffle.draw/1",
  "raffle_id": "01930b6e-5a2c-7d41-8f3e-6b1c2d3e4f50",
  "raffle_key": "0x01930b6e5a2c7d418f3e6b1c2d3e4f50",
  "chain_id": 31337,
  "contract_address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
  "product_content_hash": "0xf84f26205020a1b465cd49861b6453c0284f92b448e257cc16bf6f380abbaa75",
  "seed_hash": "0x7d995076dab081d5a6124fc3fb90de2c1bee1458ae25e7edb8ac41d69cf21405",
  "closes_at": 1795867200,
  "winners": 1,
  "state": "drawn",
  "ticket_root": "0x4390c01bb22dc9a438c3033f10cb7c1607c72decfb27e2d53b9112fa9031c617",
  "ticket_count": 3,
  "close_block": 1041,
  "seed": "0x03e9cbbb15c270cad29daf733f7938557130c797ca1191f1a56a5079ab06f0f4",
  "block_hash": "0x77d12e5d83211ce6d9d3c9230bbbdfefc24c58339ef4ff08ee29d156e0c3b6d3",
  "randomness": "0xf746a739dd86321c69670ba1dbce3ab45237d182059b7e6580671986eeb9ffc7",
  "commit_tx": "0x71e1224afdf6383fcad30b2975f72e4a4f2f1b4e6ecf42804847ff7ed0fec788",
  "close_tx": "0x061f92868554e2e7e01cb361cd2a3cd1e977e0deeaabbb7aea944c4dd54f7938",
  "reveal_tx": "0x19a1df92848592a5e3c814ad114aaaea469c8c3f5b9c4e66da1ac0f83d1fd7ad",
  "winning_tickets": [
    "0x3f2b21ae8cf455a1bbc9398a691eedb2ffb1d5615586a218014156e105714e1a"
  ],
  "alternates": [
    "0xe9ec5da411efab5a2e134d68d2b40dc1419205e087007d8387ff15434329af4c",
    "0x74076ec1cfa7b847e2a5bf61ee5d9973c93d3cbcdb152e701d6b10a0b53edb78"
  ],
  "tickets_url": "/v1/raffles/01930b6e-5a2c-7d41-8f3e-6b1c2d3e4f50/tickets?download=true"
}"#;

fn sorted_tickets() -> Vec<Hash> {
    TICKETS_SORTED.iter().map(|(t, _)| h256(t)).collect()
}

fn ten_tickets() -> Vec<Hash> {
    TEN_SORTED.iter().map(|(_, t)| h256(t)).collect()
}

/// The order as docs/PROTOCOLS.md §7.5 writes it, step by step, from the stream alone. Returns
/// the indexes in draw order, every x drawn and every j.
fn order_as_written(n: usize, r: &Hash) -> (Vec<u32>, Vec<u64>, Vec<u64>) {
    let mut order: Vec<u32> = (0..n as u32).collect();
    let (mut xs, mut js) = (Vec::new(), Vec::new());
    let mut counter: u64 = 0;
    for i in (1..n).rev() {
        let bound = i as u128 + 1;
        let limit = (1u128 << 64) - (1u128 << 64) % bound;
        let x = loop {
            let block = Sha256::new()
                .chain_update(r)
                .chain_update(counter.to_be_bytes())
                .finalize();
            counter += 1;
            let x = u64::from_be_bytes(block[..8].try_into().unwrap());
            xs.push(x);
            if (x as u128) < limit {
                break x;
            }
        };
        let j = (x as u128 % bound) as u64;
        js.push(j);
        order.swap(i, j as usize);
    }
    (order, xs, js)
}

#[test]
fn draw_tickets_list_root_and_proofs() {
    let raffle = Uuid::parse_str(RAFFLE_ID).unwrap();
    assert_eq!(hex0x(raffle.as_bytes()), RAFFLE_KEY);
    for (entry, ticket) in ENTRIES {
        let entry = Uuid::parse_str(entry).unwrap();
        assert_eq!(hex0x(&draw::ticket(raffle, entry)), ticket, "{entry}");
    }
    // The ticket's preimage: 15 ASCII bytes, then the raffle's and the entry's 16 bytes.
    let preimage = hex::decode(TICKET_1_PREIMAGE).unwrap();
    assert_eq!(preimage.len(), 47);
    assert_eq!(&preimage[..15], b"truffle.entry/1");
    assert_eq!(&preimage[15..31], raffle.as_bytes());
    assert_eq!(
        &preimage[31..],
        Uuid::parse_str(ENTRIES[0].0).unwrap().as_bytes()
    );
    assert_eq!(hex0x(&Sha256::digest(&preimage)), ENTRIES[0].1);

    // The published list is the tickets sorted ascending.
    let mut list: Vec<Hash> = ENTRIES.iter().map(|(_, t)| h256(t)).collect();
    list.sort();
    assert_eq!(list, sorted_tickets());
    assert_eq!(draw::check_list(&list), Ok(()));
    // Any other order, or a repeated ticket, is refused.
    let entry_order: Vec<Hash> = ENTRIES.iter().map(|(_, t)| h256(t)).collect();
    assert_eq!(
        draw::check_list(&entry_order),
        Err(draw::ListError::NotSorted(1))
    );
    let repeated = [list[0], list[1], list[1], list[2]];
    assert_eq!(
        draw::check_list(&repeated),
        Err(draw::ListError::Duplicate(2))
    );

    // Its Merkle tree, by the truffle.anchor/1 rules.
    let tree = draw::ticket_tree(&list).unwrap();
    let leaves: Vec<String> = tree.leaves().iter().map(|l| hex0x(l)).collect();
    let expected_leaves: Vec<&str> = TICKETS_SORTED.iter().map(|(_, l)| *l).collect();
    assert_eq!(leaves, expected_leaves);
    for (ticket, leaf) in TICKETS_SORTED {
        assert_eq!(hex0x(&merkle::leaf(&h256(ticket))), leaf);
    }
    let l: Vec<Hash> = expected_leaves.iter().map(|l| h256(l)).collect();
    assert_eq!(hex0x(&merkle::node(&l[0], &l[1])), TICKET_NODE_01);
    assert_eq!(hex0x(&tree.root()), TICKET_ROOT);
    let expected_proofs: [&[&str]; 3] = [
        &[TICKETS_SORTED[1].1, TICKETS_SORTED[2].1],
        &[TICKETS_SORTED[0].1, TICKETS_SORTED[2].1],
        &[TICKET_NODE_01],
    ];
    for ((_, leaf), expected) in TICKETS_SORTED.iter().zip(expected_proofs) {
        let proof: Vec<String> = tree
            .proof(&h256(leaf))
            .unwrap()
            .iter()
            .map(|p| hex0x(p))
            .collect();
        assert_eq!(proof, expected, "proof of {leaf}");
        let proof: Vec<Hash> = expected.iter().map(|p| h256(p)).collect();
        assert!(merkle::verify(&h256(leaf), &proof, &h256(TICKET_ROOT)));
    }
    // No tickets: no tree (closeRaffle then takes root 0 and count 0).
    assert!(draw::ticket_tree(&[]).is_none());
}

#[test]
fn draw_seed_commitment_and_randomness() {
    let seed: Hash = Sha256::digest(b"truffle demo seed").into();
    assert_eq!(hex0x(&seed), SEED);
    assert_eq!(hex0x(&draw::seed_hash(&seed)), SEED_HASH);
    assert_eq!(hex0x(&Sha256::digest(seed)), SEED_HASH);
    let block_hash: Hash = Sha256::digest(b"truffle demo block").into();
    assert_eq!(hex0x(&block_hash), BLOCK_HASH);
    assert_eq!(hex0x(&draw::randomness(&seed, &block_hash)), RANDOMNESS);
    assert_eq!(
        hex0x(&Sha256::digest([seed, block_hash].concat())),
        RANDOMNESS
    );
}

/// The `RaffleRevealed` log of a real `revealSeed` on a local anvil (docs/PROTOCOLS.md §7.10.4:
/// the raffle closed in block 3, the reveal landed in block 5): the contract's R is
/// sha256(seed ‖ blockhash(4)).
#[test]
fn draw_randomness_as_the_contract_fixed_it_on_anvil() {
    let topics = [
        h256("0x91a86e6114e0426297433bca194088ff43f83515a9419982c9c911a77f7420b6"),
        h256("0x01930b6e5a2c7d418f3e6b1c2d3e4f5000000000000000000000000000000000"),
    ];
    let data = hex::decode("0x03e9cbbb15c270cad29daf733f7938557130c797ca1191f1a56a5079ab06f0f4987bae793bf60311da63e00ba94847b031d91ee597a6d2715c3e098244368804655743ed380eaa5294ec3d2405a9f82a9a0ec4f698b116bee80c5213911593b6").unwrap();
    let event = TruffleRegistry::RaffleRevealed::decode_raw_log(topics, &data).unwrap();
    assert_eq!(hex0x(event.raffleId.as_slice()), RAFFLE_KEY);
    assert_eq!(event.seed, h256(SEED));
    assert_eq!(
        event.blockHash.to_string(),
        "0x987bae793bf60311da63e00ba94847b031d91ee597a6d2715c3e098244368804"
    );
    assert_eq!(
        event.randomness.to_string(),
        "0x655743ed380eaa5294ec3d2405a9f82a9a0ec4f698b116bee80c5213911593b6"
    );
    assert_eq!(
        draw::randomness(&event.seed.0, &event.blockHash.0),
        event.randomness.0
    );
    // The three tickets drawn with that R: entry …1801 wins, …1802 and …1803 are alternates.
    assert_eq!(draw::order(3, &event.randomness.0), [2, 1, 0]);
    let ordered: Vec<String> = draw::ordered_tickets(&sorted_tickets(), &event.randomness.0)
        .iter()
        .map(|t| hex0x(t))
        .collect();
    assert_eq!(ordered, [ENTRIES[0].1, ENTRIES[1].1, ENTRIES[2].1]);
}

#[test]
fn draw_stream_and_rejection_limits() {
    let r = h256(RANDOMNESS);
    for (counter, (block, x)) in STREAM.iter().enumerate() {
        let b = Sha256::new()
            .chain_update(r)
            .chain_update((counter as u64).to_be_bytes())
            .finalize();
        assert_eq!(hex0x(&b), *block, "counter {counter}");
        assert_eq!(u64::from_be_bytes(b[..8].try_into().unwrap()), *x);
        assert_eq!(&block[..18], format!("0x{x:016x}"));
    }
    // limit = 2^64 − (2^64 mod (i + 1)); x ≥ limit is drawn again.
    let limit = |bound: u128| (1u128 << 64) - (1u128 << 64) % bound;
    assert_eq!(limit(2), 18446744073709551616);
    assert_eq!(limit(3), 18446744073709551615);
    assert_eq!(limit(7), 18446744073709551614);
    assert_eq!(limit(10), 18446744073709551610);
    // The same remainder in 64-bit arithmetic: (2^64 − n) mod n.
    for n in [2u64, 3, 7, 10, 1 << 32] {
        assert_eq!(
            u128::from(n.wrapping_neg() % n),
            (1u128 << 64) % u128::from(n)
        );
    }
}

#[test]
fn draw_order_of_three_tickets_one_winner() {
    let r = h256(RANDOMNESS);
    let list = sorted_tickets();
    assert_eq!(draw::order(3, &r), ORDER_3);
    let (order, xs, js) = order_as_written(3, &r);
    assert_eq!(order, ORDER_3);
    assert_eq!(xs, [STREAM[0].1, STREAM[1].1]);
    assert_eq!(js, J_3);
    let ordered: Vec<String> = draw::ordered_tickets(&list, &r)
        .iter()
        .map(|t| hex0x(t))
        .collect();
    assert_eq!(
        ordered,
        [
            TICKETS_SORTED[0].0, // winner: entry …1803
            TICKETS_SORTED[2].0, // first alternate: entry …1801
            TICKETS_SORTED[1].0, // second alternate: entry …1802
        ]
    );
    assert_eq!(ordered[0], ENTRIES[2].1);
    assert_eq!(ordered[1], ENTRIES[0].1);
    assert_eq!(ordered[2], ENTRIES[1].1);
    // Fewer tickets than draws: one ticket is its own order, and none draws nothing.
    assert_eq!(draw::order(1, &r), [0]);
    assert!(draw::order(0, &r).is_empty());
}

#[test]
fn draw_order_of_ten_tickets_three_winners() {
    let mut ten: Vec<Hash> = (0..10)
        .map(|k| Sha256::digest(format!("t{k}").as_bytes()).into())
        .collect();
    ten.sort();
    assert_eq!(ten, ten_tickets());
    for (name, ticket) in TEN_SORTED {
        assert_eq!(hex0x(&Sha256::digest(name.as_bytes())), ticket);
    }
    assert_eq!(draw::check_list(&ten), Ok(()));
    assert_eq!(hex0x(&draw::ticket_tree(&ten).unwrap().root()), TEN_ROOT);

    let r = h256(RANDOMNESS);
    assert_eq!(draw::order(10, &r), ORDER_10);
    let (order, xs, js) = order_as_written(10, &r);
    assert_eq!(order, ORDER_10);
    let expected_xs: Vec<u64> = STREAM.iter().map(|(_, x)| *x).chain(X_10_MORE).collect();
    assert_eq!(xs, expected_xs, "no draw was rejected");
    assert_eq!(js, J_10);
    let ordered: Vec<&str> = draw::ordered_tickets(&ten, &r)
        .iter()
        .map(|t| {
            TEN_SORTED
                .iter()
                .find(|(_, s)| h256(s) == *t)
                .map(|(name, _)| *name)
                .unwrap()
        })
        .collect();
    assert_eq!(
        ordered,
        ["t9", "t0", "t2", "t4", "t7", "t8", "t1", "t3", "t5", "t6"]
    );
    // Winners: t9, t0, t2; alternates in order: t4, t7, t8, t1, t3, t5, t6.
    let winners: Vec<&str> = ORDER_10[..3]
        .iter()
        .map(|&i| TEN_SORTED[i as usize].1)
        .collect();
    assert_eq!(
        winners,
        [
            "0xef46a230cfb0c087fdd8883bc989a3eaa253428f9f6033335e0cee7173c42a92",
            "0x512f26ada3c3d634ac3c6b12b7b33cb50bb0963c3f6d9924241619c84ec78ff2",
            "0xc44474038d459e40e4714afefa7bf8dae9f9834b22f5e8ec1dd434ecb62b512e",
        ]
    );
}

/// The raffle functions, events and errors of docs/PROTOCOLS.md §7.4, against both the
/// signatures as written and the bindings generated from the contract's ABI.
#[test]
fn draw_registry_selectors_topics_and_encoding() {
    let selector = |sig: &str| hex0x(&keccak256(sig)[..4]);
    let functions = [
        (
            TruffleRegistry::commitRaffleCall::SIGNATURE,
            TruffleRegistry::commitRaffleCall::SELECTOR,
            "commitRaffle(bytes16,bytes32,bytes32,uint64,uint32)",
            "0xe4f3f15a",
        ),
        (
            TruffleRegistry::closeRaffleCall::SIGNATURE,
            TruffleRegistry::closeRaffleCall::SELECTOR,
            "closeRaffle(bytes16,bytes32,uint32)",
            "0xc2072b40",
        ),
        (
            TruffleRegistry::revealSeedCall::SIGNATURE,
            TruffleRegistry::revealSeedCall::SELECTOR,
            "revealSeed(bytes16,bytes32)",
            "0xa360a429",
        ),
        (
            TruffleRegistry::markVoidCall::SIGNATURE,
            TruffleRegistry::markVoidCall::SELECTOR,
            "markVoid(bytes16)",
            "0x583e9a35",
        ),
        (
            TruffleRegistry::cancelRaffleCall::SIGNATURE,
            TruffleRegistry::cancelRaffleCall::SELECTOR,
            "cancelRaffle(bytes16)",
            "0x22bcd1e2",
        ),
        (
            TruffleRegistry::rafflesCall::SIGNATURE,
            TruffleRegistry::rafflesCall::SELECTOR,
            "raffles(bytes16)",
            "0xde9e9806",
        ),
    ];
    for (abi_sig, abi_selector, sig, expected) in functions {
        assert_eq!(abi_sig, sig);
        assert_eq!(hex0x(&abi_selector), expected, "{sig}");
        assert_eq!(selector(sig), expected, "{sig}");
    }

    let events = [
        (
            TruffleRegistry::RaffleCommitted::SIGNATURE,
            TruffleRegistry::RaffleCommitted::SIGNATURE_HASH,
            "RaffleCommitted(bytes16,bytes32,bytes32,uint64,uint32)",
            "0x2459f6d229f3a2f7002beb6c4a0d019b8e1f86b02ada54c97c27c5078feb1222",
        ),
        (
            TruffleRegistry::RaffleClosed::SIGNATURE,
            TruffleRegistry::RaffleClosed::SIGNATURE_HASH,
            "RaffleClosed(bytes16,bytes32,uint32,uint64)",
            "0x495b2a708f923be0830aed035d3fd82306905f42377d5bb2b8ee6830d35d5023",
        ),
        (
            TruffleRegistry::RaffleRevealed::SIGNATURE,
            TruffleRegistry::RaffleRevealed::SIGNATURE_HASH,
            "RaffleRevealed(bytes16,bytes32,bytes32,bytes32)",
            "0x91a86e6114e0426297433bca194088ff43f83515a9419982c9c911a77f7420b6",
        ),
        (
            TruffleRegistry::RaffleVoided::SIGNATURE,
            TruffleRegistry::RaffleVoided::SIGNATURE_HASH,
            "RaffleVoided(bytes16)",
            "0xd782b9ae6e9650760de3aa39b273c26a214bc009b5b78c67fcd776a77e3aed66",
        ),
        (
            TruffleRegistry::RaffleEmpty::SIGNATURE,
            TruffleRegistry::RaffleEmpty::SIGNATURE_HASH,
            "RaffleEmpty(bytes16)",
            "0x9a444916f283af5a8ef0ea23816b4bcc83694fdd524e51d169366944a96f020f",
        ),
        (
            TruffleRegistry::RaffleCancelled::SIGNATURE,
            TruffleRegistry::RaffleCancelled::SIGNATURE_HASH,
            "RaffleCancelled(bytes16)",
            "0x6471d8d4c9025062960f54a6bb54756afcb205c8d3e4c31373b7448602ee1960",
        ),
    ];
    for (abi_sig, abi_topic, sig, expected) in events {
        assert_eq!(abi_sig, sig);
        assert_eq!(abi_topic.to_string(), expected, "{sig}");
        assert_eq!(keccak256(sig).to_string(), expected, "{sig}");
    }

    let errors = [
        (
            TruffleRegistry::RaffleExists::SIGNATURE,
            TruffleRegistry::RaffleExists::SELECTOR,
            "RaffleExists(bytes16)",
            "0xca5f3bac",
        ),
        (
            TruffleRegistry::WrongRaffleState::SIGNATURE,
            TruffleRegistry::WrongRaffleState::SELECTOR,
            "WrongRaffleState(bytes16,uint8)",
            "0x47b0e9b1",
        ),
        (
            TruffleRegistry::NoWinners::SIGNATURE,
            TruffleRegistry::NoWinners::SELECTOR,
            "NoWinners()",
            "0x3728feb3",
        ),
        (
            TruffleRegistry::ClosingTooEarly::SIGNATURE,
            TruffleRegistry::ClosingTooEarly::SELECTOR,
            "ClosingTooEarly(uint64)",
            "0x0f04bf80",
        ),
        (
            TruffleRegistry::BadTicketRoot::SIGNATURE,
            TruffleRegistry::BadTicketRoot::SELECTOR,
            "BadTicketRoot()",
            "0xc45e1908",
        ),
        (
            TruffleRegistry::RevealTooEarly::SIGNATURE,
            TruffleRegistry::RevealTooEarly::SELECTOR,
            "RevealTooEarly(uint64)",
            "0x1e9b899f",
        ),
        (
            TruffleRegistry::RevealTooLate::SIGNATURE,
            TruffleRegistry::RevealTooLate::SELECTOR,
            "RevealTooLate(uint64)",
            "0x85977297",
        ),
        (
            TruffleRegistry::SeedMismatch::SIGNATURE,
            TruffleRegistry::SeedMismatch::SELECTOR,
            "SeedMismatch()",
            "0xd80df0ca",
        ),
        (
            TruffleRegistry::NotVoidableYet::SIGNATURE,
            TruffleRegistry::NotVoidableYet::SELECTOR,
            "NotVoidableYet(uint64)",
            "0x4bcb494b",
        ),
        (
            TruffleRegistry::ZeroHash::SIGNATURE,
            TruffleRegistry::ZeroHash::SELECTOR,
            "ZeroHash()",
            "0xf1ae58d5",
        ),
        (
            TruffleRegistry::NotAnchorer::SIGNATURE,
            TruffleRegistry::NotAnchorer::SELECTOR,
            "NotAnchorer()",
            "0xd46c4215",
        ),
    ];
    for (abi_sig, abi_selector, sig, expected) in errors {
        assert_eq!(abi_sig, sig);
        assert_eq!(hex0x(&abi_selector), expected, "{sig}");
        assert_eq!(selector(sig), expected, "{sig}");
    }

    // The commitment of the example raffle: bytes16 is left-aligned in its 32-byte word.
    let key: FixedBytes<16> = RAFFLE_KEY.parse().unwrap();
    let commit = TruffleRegistry::commitRaffleCall {
        raffleId: key,
        productContentHash: CONTENT_HASH.parse().unwrap(),
        seedHash: SEED_HASH.parse().unwrap(),
        closesAt: 1795867200,
        winners: 1,
    };
    assert_eq!(
        hex0x(&commit.abi_encode()),
        "0xe4f3f15a01930b6e5a2c7d418f3e6b1c2d3e4f5000000000000000000000000000000000f84f26205020a1b465cd49861b6453c0284f92b448e257cc16bf6f380abbaa757d995076dab081d5a6124fc3fb90de2c1bee1458ae25e7edb8ac41d69cf21405000000000000000000000000000000000000000000000000000000006b0ac2400000000000000000000000000000000000000000000000000000000000000001"
    );
    assert_eq!(
        hex0x(&TruffleRegistry::rafflesCall { raffleId: key }.abi_encode()),
        "0xde9e980601930b6e5a2c7d418f3e6b1c2d3e4f5000000000000000000000000000000000"
    );
    // An indexed bytes16 topic: the 16 bytes, then 16 zero bytes.
    let mut topic = [0u8; 32];
    topic[..16].copy_from_slice(key.as_slice());
    assert_eq!(
        hex0x(&topic),
        "0x01930b6e5a2c7d418f3e6b1c2d3e4f5000000000000000000000000000000000"
    );

    // The getter's tuple, in order: nine 32-byte words.
    let words: Vec<[u8; 32]> = (1..=9u64).map(|k| U256::from(k).to_be_bytes()).collect();
    let r = TruffleRegistry::rafflesCall::abi_decode_returns(&words.concat()).unwrap();
    assert_eq!(r.productContentHash, B256::from(words[0]));
    assert_eq!(r.seedHash, B256::from(words[1]));
    assert_eq!(r.closesAt, 3);
    assert_eq!(r.winners, 4);
    assert_eq!(r.ticketCount, 5);
    assert_eq!(r.ticketRoot, B256::from(words[5]));
    assert_eq!(r.closeBlock, 7);
    assert_eq!(r.randomness, B256::from(words[7]));
    assert_eq!(r.state, 9);
}

/// What `truffle verify-draw` checks offline (docs/PROTOCOLS.md §7.7, steps 1–4, 7 and 8), on
/// the example draw record and the three-ticket list.
#[test]
fn example_draw_record_checks_out() {
    let record: DrawRecord = serde_json::from_str(EXAMPLE_DRAW).unwrap();
    // Every field, nothing else: the record serialises back to the document's JSON.
    let parsed: Value = serde_json::from_str(EXAMPLE_DRAW).unwrap();
    assert_eq!(serde_json::to_value(&record).unwrap(), parsed);
    let keys: Vec<&str> = parsed
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 22);

    assert_eq!(record.protocol, draw::PROTOCOL);
    assert_eq!(record.raffle_id.to_string(), RAFFLE_ID);
    assert_eq!(hex0x(record.raffle_id.as_bytes()), record.raffle_key);
    // 1. The chain and registry a devnet verifier trusts.
    assert_eq!(record.chain_id, CHAIN_ID);
    assert_eq!(
        record.contract_address.parse::<Address>().unwrap(),
        "0x5FbDB2315678afecb367f032d93F642f64180aa3"
            .parse::<Address>()
            .unwrap()
    );
    // 2. The list: sorted, unique, as many as the record says.
    let list = sorted_tickets();
    assert_eq!(draw::check_list(&list), Ok(()));
    assert_eq!(record.ticket_count, Some(list.len() as u32));
    // 3. Its root.
    assert_eq!(
        record.ticket_root.as_deref(),
        Some(hex0x(&draw::ticket_tree(&list).unwrap().root()).as_str())
    );
    // 4. The seed matches the commitment.
    let seed = h256(record.seed.as_deref().unwrap());
    assert_eq!(hex0x(&draw::seed_hash(&seed)), record.seed_hash);
    assert_eq!(record.product_content_hash, CONTENT_HASH);
    // 7. R from the seed and blockhash(b + 1) (read from the chain in the real check).
    let r = draw::randomness(&seed, &h256(record.block_hash.as_deref().unwrap()));
    assert_eq!(record.randomness.as_deref(), Some(hex0x(&r).as_str()));
    // 8. The order gives the published winners and alternates.
    let ordered: Vec<String> = draw::ordered_tickets(&list, &r)
        .iter()
        .map(|t| hex0x(t))
        .collect();
    let split = (record.winners as usize).min(ordered.len());
    assert_eq!(record.winning_tickets, ordered[..split]);
    assert_eq!(record.alternates, ordered[split..]);
    assert_eq!(
        record.tickets_url,
        format!("/v1/raffles/{RAFFLE_ID}/tickets?download=true")
    );
}

// ---------------------------------------------------------------------------------------------
// truffle.unit/1 and truffle.units/1 (docs/PROTOCOLS.md §8)

/// The three units of the §8.5 vectors: the product of §5.1, an edition of 3.
fn example_units() -> Vec<truffle::protocol::unit::UnitRecord> {
    use truffle::protocol::unit::UnitRecord;
    let product: Uuid = "0192f5a4-c3d2-7e0b-9a3c-1d2e3f405162".parse().unwrap();
    [
        "0123456789ABCDEFGHJK",
        "MNPQRSTVWXYZ01234567",
        "89ABCDEFGHJKMNPQRSTV",
    ]
    .iter()
    .enumerate()
    .map(|(i, code)| UnitRecord::new(product, i as u32 + 1, 3, (*code).to_owned()))
    .collect()
}

/// The unit vectors of docs/PROTOCOLS.md §8.5, literally; the EIP-712 signature was also checked
/// with `cast wallet verify --data`, the hashes and root with Python's hashlib.
#[test]
fn unit_records_tree_unit_set_and_signature() {
    use truffle::protocol::unit::{self, UnitsRecord};
    let units = example_units();
    let expected = [
        (
            r#"{"code":"0123456789ABCDEFGHJK","edition_size":3,"product_id":"0192f5a4-c3d2-7e0b-9a3c-1d2e3f405162","protocol":"truffle.unit/1","serial":1}"#,
            "0xae266b005691e7a94f9b53db93706548e902916e92ebc7bb6a3f57cdfe0d661b",
            "0xda15886eea4cc38c7048bec4685e3529034d2ac59bff0eb0647cbbf01f23e694",
        ),
        (
            r#"{"code":"MNPQRSTVWXYZ01234567","edition_size":3,"product_id":"0192f5a4-c3d2-7e0b-9a3c-1d2e3f405162","protocol":"truffle.unit/1","serial":2}"#,
            "0x1fe36b7650b9716ea2bbee9b66e4f16b007a147dd90c1950dcad6539d7b37025",
            "0x7650c68cf1aab8862f73a04aed993e61ffbd318b8a519f1d0ac5720b44dcca05",
        ),
        (
            r#"{"code":"89ABCDEFGHJKMNPQRSTV","edition_size":3,"product_id":"0192f5a4-c3d2-7e0b-9a3c-1d2e3f405162","protocol":"truffle.unit/1","serial":3}"#,
            "0x54f7dc040a4a8d51f0a388d4ac73d24f1fbcb746505a777abee6ed0275064f50",
            "0xe8c7a80568b2acea4bad367c561c1045670ca6fd47a18ecbeac8f619113a56e0",
        ),
    ];
    for (u, (canonical, hash, leaf)) in units.iter().zip(expected) {
        let v = serde_json::to_value(u).unwrap();
        assert_eq!(
            String::from_utf8(jcs::canonicalize(&v).unwrap()).unwrap(),
            canonical
        );
        assert_eq!(u.content_hash().to_string(), hash);
        assert_eq!(hex0x(&merkle::leaf(&u.content_hash().0)), leaf);
        assert!(unit::is_code(&u.code));
    }
    let tree = unit::units_tree(&units).unwrap();
    const ROOT: &str = "0x95decf022be4ad610abe22dd3138a97397bf9978a0e902fb12349c6d7bf7f6dd";
    assert_eq!(hex0x(&tree.root()), ROOT);
    let proof_of = |u: &truffle::protocol::unit::UnitRecord| -> Vec<String> {
        let p = tree.proof(&merkle::leaf(&u.content_hash().0)).unwrap();
        p.iter().map(|x| hex0x(x)).collect()
    };
    assert_eq!(
        proof_of(&units[0]),
        [expected[1].2, expected[2].2],
        "unit 1: its pair, then the carried-up leaf of unit 3"
    );
    assert_eq!(
        proof_of(&units[2]),
        ["0xe2e8ddb6a5cbf4ff2de4d1191756d839ee3ab9c621a594784294fdf54814d9e2"]
    );
    let set = UnitsRecord {
        protocol: unit::UNITS_PROTOCOL.into(),
        product_id: "0192f5a4-c3d2-7e0b-9a3c-1d2e3f405162".parse().unwrap(),
        product_content_hash: CONTENT_HASH.into(),
        edition_size: 3,
        gtin: Some("09521234543213".into()),
        units_root: ROOT.into(),
        seller_address: "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf".into(),
        created_at: "2026-11-21T09:00:00Z".into(),
    };
    let (bytes, hash) = set.hash();
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        r#"{"created_at":"2026-11-21T09:00:00Z","edition_size":3,"gtin":"09521234543213","product_content_hash":"0xf84f26205020a1b465cd49861b6453c0284f92b448e257cc16bf6f380abbaa75","product_id":"0192f5a4-c3d2-7e0b-9a3c-1d2e3f405162","protocol":"truffle.units/1","seller_address":"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf","units_root":"0x95decf022be4ad610abe22dd3138a97397bf9978a0e902fb12349c6d7bf7f6dd"}"#
    );
    assert_eq!(
        hash.to_string(),
        "0x0d09f8ff83de8f9ac59152a761c93d7e9068bd74bb87d8f22cf9b7e578759362"
    );
    let m = unit::typed_message(hash, &set).unwrap();
    assert_eq!(
        unit::UnitSet::eip712_encode_type(),
        "UnitSet(bytes32 contentHash,bytes32 productContentHash,bytes32 unitsRoot,uint32 editionSize)"
    );
    assert_eq!(
        keccak256(unit::UnitSet::eip712_encode_type().as_bytes()).to_string(),
        "0x29f57f0d21bd6dab60f8acf9340fad17b7c20d0ffab99967c919ad580062cc4d"
    );
    assert_eq!(
        unit::signing_hash(&m, CHAIN_ID).to_string(),
        "0x281da0e7329b1a6e49d2d69f98789b03f26e0ee1927f7805ff2fbe9201eaf1b8"
    );
    let sig = unit::sign(&signer(), &m, CHAIN_ID).unwrap();
    assert_eq!(
        hex0x(&sig),
        "0x3aa072a6c0b0f0842092dac33f27aa721bd44702039e2e96679b652171ddfd4450ce175a2d6b5edba393e437b31fac5dce3013f43a1810b2e8fef17bfeff8e611b"
    );
    unit::check_signature(&m, CHAIN_ID, &sig, signer().address()).unwrap();
}

// truffle.transfer/1 (docs/PROTOCOLS.md §9)

/// The §9.5 records: unit 1 of §8.5 won in a raffle, then handed on once.
fn example_transfers() -> [truffle::protocol::transfer::TransferRecord; 2] {
    use truffle::protocol::transfer::{self, TransferRecord};
    let key = b"truffle example owner key";
    let code = "0123456789ABCDEFGHJK";
    let owner = |n: u128| transfer::pseudonym(key, uuid::Uuid::from_u128(n), code);
    let first = TransferRecord {
        protocol: transfer::TRANSFER_PROTOCOL.into(),
        code: code.into(),
        unit_hash: "0xae266b005691e7a94f9b53db93706548e902916e92ebc7bb6a3f57cdfe0d661b".into(),
        sequence: 1,
        kind: transfer::KIND_RAFFLE_WIN.into(),
        raffle_id: Some("01930b6e-5a2c-7d41-8f3e-6b1c2d3e4f50".parse().unwrap()),
        previous: None,
        from: None,
        to: owner(1),
        created_at: "2026-12-04T09:00:00Z".into(),
    };
    let second = TransferRecord {
        sequence: 2,
        kind: transfer::KIND_TRANSFER.into(),
        raffle_id: None,
        previous: Some(first.hash().1.to_string()),
        from: Some(owner(1)),
        to: owner(2),
        created_at: "2026-12-05T10:30:00Z".into(),
        ..first.clone()
    };
    [first, second]
}

/// The transfer vectors of docs/PROTOCOLS.md §9.5, literally; pseudonyms and hashes were also
/// checked with Python's hmac and hashlib, the second signature with `cast wallet verify --data`.
#[test]
fn transfer_records_pseudonyms_and_signatures() {
    use truffle::protocol::transfer;
    let records = example_transfers();
    let expected = [
        (
            r#"{"code":"0123456789ABCDEFGHJK","created_at":"2026-12-04T09:00:00Z","from":null,"kind":"raffle_win","previous":null,"protocol":"truffle.transfer/1","raffle_id":"01930b6e-5a2c-7d41-8f3e-6b1c2d3e4f50","sequence":1,"to":"0xa1ac0917670e6cc6e018c09dac035a86dd20ce13786bf8bee5966733746933b8","unit_hash":"0xae266b005691e7a94f9b53db93706548e902916e92ebc7bb6a3f57cdfe0d661b"}"#,
            "0xca7e2e4e56158f533aa9744b3b6b83609d59fb1432150dccfa111053372ea401",
            "0x27b21a2e18e569081d944ab468945be4fa49e3f7613785917b81d1615349ea76",
            "0x8283ffc1327db14643f7edbab78126de065d7cd6a6299a3ff13051d8d7c2226c02840e7bf5034d27d19f231a274969dde6a966e95bc60183fce600cc049ab0e91b",
        ),
        (
            r#"{"code":"0123456789ABCDEFGHJK","created_at":"2026-12-05T10:30:00Z","from":"0xa1ac0917670e6cc6e018c09dac035a86dd20ce13786bf8bee5966733746933b8","kind":"transfer","previous":"0xca7e2e4e56158f533aa9744b3b6b83609d59fb1432150dccfa111053372ea401","protocol":"truffle.transfer/1","raffle_id":null,"sequence":2,"to":"0x5a115ca52e4d3928092ceb6cf6a179df4f35c1e5231829c66700cc4dac191cfd","unit_hash":"0xae266b005691e7a94f9b53db93706548e902916e92ebc7bb6a3f57cdfe0d661b"}"#,
            "0x9559b3405ce380088d589970eadc64a59094ad94d3177363f6c71dc623e43df2",
            "0x013071e903cbe5850c195bb4c8cbe7cd5f299ae1dd9ccd1ae1db2f73a3748688",
            "0x0fe3b938320210b115dadd4d752c075b2299fb6ebd337696f1374cd8341ecdbf0a82366c725fb3c360a252a1270fa1a479e468878263f592febada93222709381b",
        ),
    ];
    assert_eq!(
        transfer::Transfer::eip712_encode_type(),
        "Transfer(bytes32 contentHash,bytes32 unitHash,bytes32 previous,uint32 sequence)"
    );
    assert_eq!(
        keccak256(transfer::Transfer::eip712_encode_type().as_bytes()).to_string(),
        "0x19620dba5277da9a611ccd5fceef82a7e888337d0db92b0e70a8e0e5e1e98324"
    );
    for (r, (canonical, hash, digest, signature)) in records.iter().zip(expected) {
        let (bytes, h) = r.hash();
        assert_eq!(String::from_utf8(bytes).unwrap(), canonical);
        assert_eq!(h.to_string(), hash);
        let m = transfer::typed_message(h, r).unwrap();
        assert_eq!(transfer::signing_hash(&m, CHAIN_ID).to_string(), digest);
        let sig = transfer::sign(&signer(), &m, CHAIN_ID).unwrap();
        assert_eq!(hex0x(&sig), signature);
        transfer::check_signature(&m, CHAIN_ID, &sig, signer().address()).unwrap();
    }
    // The first record's typed data has previous = 32 zero bytes.
    let m = transfer::typed_message(records[0].hash().1, &records[0]).unwrap();
    assert_eq!(m.previous, alloy::primitives::B256::ZERO);
    assert!(records[0].is_first());
    assert!(records[0].is_followed_by(records[0].hash().1, &records[1]));
}
