-- Clone detection: where each unit's label was scanned from (by client address prefix: /24 for
-- IPv4, /64 for IPv6), and when a unit was last flagged as scanned from too many places.
CREATE TABLE unit_scans (
    code            text NOT NULL REFERENCES units (code),
    address_prefix  text NOT NULL,
    first_seen      timestamptz NOT NULL DEFAULT now(),
    last_seen       timestamptz NOT NULL DEFAULT now(),
    scans           integer NOT NULL DEFAULT 1,
    PRIMARY KEY (code, address_prefix)
);
CREATE INDEX unit_scans_recent ON unit_scans (code, last_seen);

ALTER TABLE units ADD COLUMN clone_flagged_at timestamptz;
