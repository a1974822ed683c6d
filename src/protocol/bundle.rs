//! The proof bundle: everything a third party needs to check one product record against the chain.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// A product record with its signature, Merkle proof and anchoring transaction. All hashes,
/// addresses and signatures are lowercase 0x-hex.
/// A verifier reads it strictly: a field it does not know is refused (a later protocol version
/// names itself, it is not read as this one).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// `truffle.product/1`.
    pub protocol: String,
    /// `truffle.anchor/1`.
    pub anchor_protocol: String,
    /// The record exactly as signed; its RFC 8785 canonical bytes hash to `content_hash`.
    #[schema(value_type = Object)]
    pub record: Value,
    pub content_hash: String,
    pub seller_address: String,
    /// 65 bytes r ‖ s ‖ v over the EIP-712 message in `eip712`.
    pub signature: String,
    /// The EIP-712 typed data (domain, types, primary type, message) that was signed.
    #[schema(value_type = Object)]
    pub eip712: Value,
    /// sha256(0x00 ‖ content_hash).
    pub leaf: String,
    /// Sibling hashes from the leaf to the root.
    pub proof: Vec<String>,
    pub root: String,
    pub chain_id: u64,
    /// The TruffleRegistry that anchored the root.
    pub contract_address: String,
    pub tx_hash: String,
    pub block_number: u64,
    /// RFC 3339 UTC time of the anchoring block.
    pub block_time: String,
}
