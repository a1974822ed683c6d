-- The last counted impression of each viewer on each campaign (docs/ADS.md): a banner shown to
-- the same viewer again within ADS_IMPRESSION_DEDUP_WINDOW is served but not counted again. A
-- viewer is an HMAC of the user id, else of the client address prefix (never the raw address).
-- Unlogged like ad_click_dedup: a crash forgets it, which at worst counts an impression again.
CREATE UNLOGGED TABLE ad_impression_dedup (
    campaign_id  uuid NOT NULL,
    viewer       bytea NOT NULL,
    seen_at      timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, viewer)
);
CREATE INDEX ad_impression_dedup_by_time ON ad_impression_dedup (seen_at);
