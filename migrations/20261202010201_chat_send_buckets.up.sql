-- One token bucket per person for chat sends, shared by REST and every socket on every replica
-- (docs/CHAT.md): `tokens` as of `refilled_at`, refilled at CHAT_MESSAGES_PER_SECOND up to
-- CHAT_MESSAGE_BURST. Unlogged like rate_limits: a crash only refills the buckets.
CREATE UNLOGGED TABLE chat_send_buckets (
    user_id      uuid PRIMARY KEY,
    tokens       double precision NOT NULL,
    refilled_at  timestamptz NOT NULL
);
