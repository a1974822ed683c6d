-- Accounts: people (one verified person, one account), sessions, refresh tokens,
-- identity verifications, seller applications, and the login/send rate-limit counters.

CREATE TABLE users (
    id                    uuid PRIMARY KEY,
    -- Lowercased. NULL once the account is deleted (the row stays as an anonymous tombstone
    -- so that transaction records kept by law still point at something).
    email                 text UNIQUE,
    password_hash         text,
    -- HMAC-SHA256 of the person key (CI, else the E.164 phone) under the server's key.
    -- NULL for admins created by the CLI and for deleted accounts.
    person_key_hash       bytea UNIQUE,
    verified_name         text,
    name                  text,
    nickname              text,
    phone                 text,
    birth_date            date,
    gender                text CHECK (gender IN ('male', 'female', 'other')),
    role                  text NOT NULL DEFAULT 'buyer' CHECK (role IN ('buyer', 'seller', 'admin')),
    delivery_address      jsonb,
    marketing_consent     boolean NOT NULL DEFAULT false,
    marketing_consent_at  timestamptz,
    status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleted')),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    deleted_at            timestamptz
);

-- Persons who deleted their account: they may sign up again once the cool-down has passed.
CREATE TABLE withdrawn_persons (
    person_key_hash  bytea PRIMARY KEY,
    withdrawn_at     timestamptz NOT NULL
);

CREATE TABLE identity_verifications (
    id               text PRIMARY KEY,
    purpose          text NOT NULL CHECK (purpose IN ('signup', 'password_reset')),
    provider         text NOT NULL,
    status           text NOT NULL CHECK (status IN ('sent', 'verified', 'failed', 'consumed')),
    failure          text CHECK (failure IN ('expired', 'too_many_attempts', 'rejected')),
    attempts         integer NOT NULL DEFAULT 0,
    expires_at       timestamptz NOT NULL,
    verified_at      timestamptz,
    -- What the provider verified. Erased when the verification is consumed or fails.
    person_key_hash  bytea,
    verified_name    text,
    phone            text,
    birth_date       date,
    gender           text,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    id                 uuid PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_refreshed_at  timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    revoked_at         timestamptz,
    revoked_reason     text
);
CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

CREATE TABLE seller_applications (
    id                            uuid PRIMARY KEY,
    user_id                       uuid NOT NULL REFERENCES users (id),
    business_name                 text NOT NULL,
    business_registration_number  text NOT NULL,
    status                        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decision_reason               text,
    decided_by                    uuid REFERENCES users (id),
    decided_at                    timestamptz,
    created_at                    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX seller_applications_one_pending ON seller_applications (user_id) WHERE status = 'pending';
CREATE INDEX seller_applications_by_status ON seller_applications (status, created_at);

-- Fixed-window counters shared by every replica. Unlogged: losing them in a crash only resets limits.
CREATE UNLOGGED TABLE rate_limits (
    key           text PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    hits          integer NOT NULL
);
