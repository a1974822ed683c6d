ALTER TABLE units DROP COLUMN clone_flagged_at;
DROP TABLE unit_scans;
