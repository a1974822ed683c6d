DROP TABLE chat_send_buckets;
