DROP TABLE chain_head;
