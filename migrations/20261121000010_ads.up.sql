-- Banner ads: campaigns, their per-day counters, and click de-duplication (docs/ADS.md).

CREATE TABLE ad_campaigns (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- Both https only, parsed and normalised by the service before they are stored.
    image_url   text NOT NULL CHECK (image_url LIKE 'https://%' AND char_length(image_url) <= 2048),
    target_url  text NOT NULL CHECK (target_url LIKE 'https://%' AND char_length(target_url) <= 2048),
    placement   text NOT NULL
                    CHECK (placement IN ('home_top', 'search_top', 'product_detail', 'raffle_list')),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    weight      integer NOT NULL CHECK (weight BETWEEN 1 AND 1000),
    -- Paused by an admin: not served, clicks refused; can be resumed.
    paused      boolean NOT NULL DEFAULT false,
    -- Ended by an admin ("end now"): final.
    ended_at    timestamptz,
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
-- What GET /v1/ads reads: the live campaigns of one placement.
CREATE INDEX ad_campaigns_serving ON ad_campaigns (placement, ends_at)
    WHERE ended_at IS NULL AND NOT paused;

-- Impressions and clicks per campaign and Korean calendar day (Asia/Seoul), one upsert per
-- count. Each day is split over a few slots chosen at random per write, so that a popular
-- campaign's counter is not one hot row every request waits on; readers sum the slots.
CREATE TABLE ad_daily_stats (
    campaign_id  uuid NOT NULL REFERENCES ad_campaigns (id) ON DELETE CASCADE,
    day          date NOT NULL,
    slot         smallint NOT NULL CHECK (slot BETWEEN 0 AND 15),
    impressions  bigint NOT NULL DEFAULT 0,
    clicks       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, day, slot)
);

-- The last counted click of each viewer on each campaign. A viewer is an HMAC (never a raw
-- address): of the user id when logged in, else of the client IP and User-Agent. Unlogged like
-- rate_limits: a crash forgets it, which at worst counts one repeated click again.
CREATE UNLOGGED TABLE ad_click_dedup (
    campaign_id  uuid NOT NULL,
    viewer       bytea NOT NULL,
    clicked_at   timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, viewer)
);
CREATE INDEX ad_click_dedup_by_time ON ad_click_dedup (clicked_at);
