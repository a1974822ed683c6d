//! The test vectors of `docs/PROTOCOLS.md`, checked against the real code.
//!
//! Every literal here is printed in `docs/PROTOCOLS.md` and was produced by this code: if a test
//! fails, either the code changed a public protocol (that is a new protocol version, never an
//! edit) or the document and this file have drifted apart. Fix the one that is wrong; never
//! "refresh" a literal to make a failure go away.
//!
//! Uses only `truffle::protocol`: no database, no network.

use alloy::primitives::{Address, B256, U256, hex, keccak256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolStruct;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use truffle::protocol::bundle::ProofBundle;
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
