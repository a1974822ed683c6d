DROP TABLE units;
DROP TABLE unit_sets;
