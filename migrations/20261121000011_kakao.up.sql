-- KakaoTalk chatbot (docs/KAKAO.md): one-time link codes and the Kakao users linked to accounts.

-- A user's current link code, at most one: a new code replaces the old. Only an HMAC of the code
-- is kept (6 digits would fall to a plain hash at once). Used codes are deleted.
CREATE TABLE kakao_link_codes (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    code_hash   bytea NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kakao_link_codes_expiry ON kakao_link_codes (expires_at);

-- A Kakao user (the bot-scoped botUserKey, `userRequest.user.id`, up to 70 characters) linked to
-- one Truffle account; one Kakao user per account and one account per Kakao user.
CREATE TABLE kakao_links (
    bot_user_key  text PRIMARY KEY CHECK (char_length(bot_user_key) BETWEEN 1 AND 70),
    user_id       uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    linked_at     timestamptz NOT NULL DEFAULT now()
);
