-- The catalogue: sellers' signing keys, products, and every signed version of a product record.

CREATE TABLE sellers (
    user_id        uuid PRIMARY KEY REFERENCES users (id),
    -- custodial: the platform holds a key for the seller; wallet: the seller signs with their own.
    signing_mode   text NOT NULL CHECK (signing_mode IN ('custodial', 'wallet')),
    -- The signing address, lowercase 0x-hex.
    address        text NOT NULL,
    -- custodial only: AES-256-GCM nonce (12 bytes) ‖ ciphertext of the private key.
    encrypted_key  bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    id                uuid PRIMARY KEY,
    seller_id         uuid NOT NULL REFERENCES users (id),
    current_version   integer NOT NULL,
    listed            boolean NOT NULL DEFAULT true,
    -- The current version's fields, for listing and filtering.
    name              text NOT NULL,
    brand             text NOT NULL,
    category          text NOT NULL,
    edition_size      integer NOT NULL CHECK (edition_size > 0),
    retail_price_krw  bigint NOT NULL CHECK (retail_price_krw >= 0),
    revoked_at        timestamptz,
    revoke_reason     text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    delisted_at       timestamptz
);
CREATE INDEX products_listed ON products (id) WHERE listed;
CREATE INDEX products_by_seller ON products (seller_id, id);
CREATE INDEX products_by_brand ON products (brand, id) WHERE listed;
CREATE INDEX products_by_category ON products (category, id) WHERE listed;

CREATE TABLE product_records (
    product_id      uuid NOT NULL REFERENCES products (id),
    version         integer NOT NULL,
    content_hash    bytea NOT NULL UNIQUE,
    -- The exact bytes that were hashed and signed (RFC 8785); the record is served from these.
    canonical       bytea NOT NULL,
    seller_address  text NOT NULL,
    -- NULL while a wallet seller's signature is awaited.
    signature       bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, version)
);
