-- Buyer–seller chat: one conversation per buyer and product, with the product's seller; messages
-- with a time-ordered server id; each participant's read marker.

CREATE TABLE chat_conversations (
    id               uuid PRIMARY KEY,
    product_id       uuid NOT NULL REFERENCES products (id),
    buyer_id         uuid NOT NULL REFERENCES users (id),
    -- The product's seller when the conversation was opened.
    seller_id        uuid NOT NULL REFERENCES users (id),
    -- The last message id each side has read (0: none).
    buyer_read_id    bigint NOT NULL DEFAULT 0,
    seller_read_id   bigint NOT NULL DEFAULT 0,
    -- The newest message, for ordering the conversation list by activity.
    last_message_id  bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (buyer_id <> seller_id),
    UNIQUE (product_id, buyer_id)
);
CREATE INDEX chat_conversations_of_buyer ON chat_conversations (buyer_id, last_message_id);
CREATE INDEX chat_conversations_of_seller ON chat_conversations (seller_id, last_message_id);

CREATE TABLE chat_messages (
    -- Drawn while both participants' advisory locks are held, so that for any one person the
    -- ids of their messages increase in commit order (resume after an id misses nothing).
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id  uuid NOT NULL REFERENCES chat_conversations (id),
    sender_id        uuid NOT NULL REFERENCES users (id),
    -- The participants, copied so that "everything for a person after id X" is two index ranges.
    buyer_id         uuid NOT NULL,
    seller_id        uuid NOT NULL,
    body             text NOT NULL,
    -- The sender's own id for the message: a retried send with the same one is not stored twice.
    client_id        text,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_messages_in_conversation ON chat_messages (conversation_id, id);
CREATE INDEX chat_messages_for_buyer ON chat_messages (buyer_id, id);
CREATE INDEX chat_messages_for_seller ON chat_messages (seller_id, id);
CREATE UNIQUE INDEX chat_messages_client_id ON chat_messages (sender_id, client_id)
    WHERE client_id IS NOT NULL;
