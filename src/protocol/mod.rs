//! The public protocols third parties rely on, byte-exact and free of any database or network:
//! RFC 8785 canonical JSON (for `truffle.product/1`) and the `truffle.anchor/1` Merkle tree.
//! `docs/PROTOCOLS.md` is their written form; a change here is a new protocol version.

pub mod bundle;
pub mod draw;
pub mod ijson;
pub mod jcs;
pub mod merkle;
pub mod product;
