//! The public protocols third parties rely on, byte-exact and free of any database or network:
//! RFC 8785 canonical JSON (for `truffle.product/1`), the `truffle.anchor/1` Merkle tree, draws
//! (`truffle.draw/1`) the units of an edition (`truffle.unit/1`, `truffle.units/1`) and their owners
//! (`truffle.transfer/1`).
//! `docs/PROTOCOLS.md` is their written form; a change here is a new protocol version.

pub mod bundle;
pub mod draw;
pub mod ijson;
pub mod jcs;
pub mod merkle;
pub mod product;
pub mod transfer;
pub mod unit;
