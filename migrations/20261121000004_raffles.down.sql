DROP TABLE entries;
DROP TABLE raffles;
