-- The units of an edition (truffle.unit/1) and the seller's signed record of them
-- (truffle.units/1), issued once per product.

CREATE TABLE unit_sets (
    product_id            uuid PRIMARY KEY REFERENCES products (id),
    -- sha256 of `canonical`: what the anchoring outbox anchors.
    content_hash          bytea NOT NULL UNIQUE,
    -- The exact bytes that were hashed and signed (RFC 8785); the record is served from these.
    canonical             bytea NOT NULL,
    product_content_hash  bytea NOT NULL REFERENCES product_records (content_hash),
    units_root            bytea NOT NULL,
    edition_size          integer NOT NULL CHECK (edition_size > 0),
    -- 14 digits, check digit valid; the label's QR code is then a GS1 Digital Link.
    gtin                  text CHECK (gtin ~ '^[0-9]{14}$'),
    signature             bytea NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX unit_sets_by_gtin ON unit_sets (gtin) WHERE gtin IS NOT NULL;

CREATE TABLE units (
    -- The public code the label carries: 20 characters of Crockford's base32.
    code          text PRIMARY KEY CHECK (code ~ '^[0-9A-HJKMNP-TV-Z]{20}$'),
    product_id    uuid NOT NULL REFERENCES unit_sets (product_id),
    serial        integer NOT NULL CHECK (serial > 0),
    content_hash  bytea NOT NULL UNIQUE,
    -- The path from the unit's leaf to units_root: sibling hashes, 32 bytes each, concatenated.
    proof         bytea NOT NULL,
    UNIQUE (product_id, serial)
);
