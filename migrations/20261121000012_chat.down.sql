DROP TABLE IF EXISTS chat_messages;
DROP TABLE IF EXISTS chat_conversations;
