//! The ads domain's SQL. Every "now" is the database's clock, so replicas agree on what is live.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// The Korean calendar day right now: counters are kept per Asia/Seoul day.
const KOREAN_TODAY: &str = "(now() AT TIME ZONE 'Asia/Seoul')::date";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CampaignRow {
    pub id: Uuid,
    pub name: String,
    pub image_url: String,
    pub target_url: String,
    pub placement: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub weight: i32,
    pub paused: bool,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status: super::CampaignStatus,
}

/// A campaign's columns with its status; also what writes return (a data-modifying CTE's
/// effects are invisible to the rest of its statement, so writes use RETURNING, not a re-read).
const COLUMNS: &str = "id, name, image_url, target_url, placement, starts_at, ends_at, weight,
        paused, ended_at, created_by, created_at, updated_at,
        CASE WHEN ended_at IS NOT NULL OR now() >= ends_at THEN 'ended'
             WHEN now() < starts_at THEN 'scheduled'
             WHEN paused THEN 'paused'
             ELSE 'active' END AS status";

/// A campaign's fields as validated by the domain.
pub struct CampaignFields<'a> {
    pub name: &'a str,
    pub image_url: &'a str,
    pub target_url: &'a str,
    pub placement: &'a str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub weight: i32,
    pub paused: bool,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    id: Uuid,
    created_by: Uuid,
    f: CampaignFields<'_>,
) -> sqlx::Result<CampaignRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO ad_campaigns (id, name, image_url, target_url, placement, starts_at,
            ends_at, weight, paused, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(f.name)
    .bind(f.image_url)
    .bind(f.target_url)
    .bind(f.placement)
    .bind(f.starts_at)
    .bind(f.ends_at)
    .bind(f.weight)
    .bind(f.paused)
    .bind(created_by)
    .fetch_one(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<CampaignRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM ad_campaigns WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The campaign, locked for an update.
pub async fn lock(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<CampaignRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM ad_campaigns WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn update(
    db: impl PgExecutor<'_>,
    id: Uuid,
    f: CampaignFields<'_>,
) -> sqlx::Result<CampaignRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE ad_campaigns SET name = $2, image_url = $3, target_url = $4, placement = $5,
            starts_at = $6, ends_at = $7, weight = $8, paused = $9, updated_at = now()
        WHERE id = $1
        RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(f.name)
    .bind(f.image_url)
    .bind(f.target_url)
    .bind(f.placement)
    .bind(f.starts_at)
    .bind(f.ends_at)
    .bind(f.weight)
    .bind(f.paused)
    .fetch_one(db)
    .await
}

/// Ends the campaign now; a campaign already ended by an admin keeps its first end time.
pub async fn end(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<CampaignRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE ad_campaigns SET ended_at = COALESCE(ended_at, now()),
            updated_at = CASE WHEN ended_at IS NULL THEN now() ELSE updated_at END
        WHERE id = $1
        RETURNING {COLUMNS}"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A page of campaigns, newest first, optionally of one placement.
pub async fn list(
    db: impl PgExecutor<'_>,
    placement: Option<&str>,
    before: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<CampaignRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM ad_campaigns
        WHERE ($1::text IS NULL OR placement = $1) AND ($2::uuid IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3"
    )))
    .bind(placement)
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveCampaign {
    pub id: Uuid,
    pub image_url: String,
    pub weight: i32,
}

/// The campaigns of a placement that may be served right now.
pub async fn live(db: impl PgExecutor<'_>, placement: &str) -> sqlx::Result<Vec<LiveCampaign>> {
    sqlx::query_as(
        "SELECT id, image_url, weight FROM ad_campaigns
        WHERE placement = $1 AND ended_at IS NULL AND NOT paused
          AND starts_at <= now() AND now() < ends_at
        ORDER BY id",
    )
    .bind(placement)
    .fetch_all(db)
    .await
}

/// Counts one impression today (Korean day, counter slot `slot`) for each campaign this viewer
/// has not had one counted for within `window`. One statement, like [`count_click`]: the
/// de-duplication rows and the counters change together. Returns how many were counted.
pub async fn count_impressions(
    db: impl PgExecutor<'_>,
    campaigns: &[Uuid],
    viewer: &[u8],
    window_secs: f64,
    slot: i16,
) -> sqlx::Result<u64> {
    // Sorted ids: two requests upserting the same rows take their locks in the same order.
    let mut ids = campaigns.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH fresh AS (
            INSERT INTO ad_impression_dedup AS d (campaign_id, viewer, seen_at)
            SELECT c, $2, now() FROM unnest($1::uuid[]) AS c
            ON CONFLICT (campaign_id, viewer) DO UPDATE SET seen_at = now()
                WHERE d.seen_at <= now() - make_interval(secs => $3)
            RETURNING campaign_id
        )
        INSERT INTO ad_daily_stats AS s (campaign_id, day, slot, impressions)
        SELECT campaign_id, {KOREAN_TODAY}, $4, 1 FROM fresh
        ON CONFLICT (campaign_id, day, slot) DO UPDATE SET impressions = s.impressions + 1"
    )))
    .bind(ids)
    .bind(viewer)
    .bind(window_secs)
    .bind(slot)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClickTarget {
    pub target_url: String,
    pub live: bool,
}

/// Where a click goes, and whether the campaign takes clicks right now.
pub async fn click_target(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<ClickTarget>> {
    sqlx::query_as(
        "SELECT target_url,
            (ended_at IS NULL AND NOT paused AND starts_at <= now() AND now() < ends_at) AS live
        FROM ad_campaigns WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Counts a click unless this viewer's last counted click on the campaign is within `window`.
/// One statement: the de-duplication row and the counter change together or not at all.
/// Returns whether the click was counted.
pub async fn count_click(
    db: impl PgExecutor<'_>,
    campaign: Uuid,
    viewer: &[u8],
    window_secs: f64,
    slot: i16,
) -> sqlx::Result<bool> {
    let counted: Option<i32> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "WITH fresh AS (
            INSERT INTO ad_click_dedup AS d (campaign_id, viewer, clicked_at)
            VALUES ($1, $2, now())
            ON CONFLICT (campaign_id, viewer) DO UPDATE SET clicked_at = now()
                WHERE d.clicked_at <= now() - make_interval(secs => $3)
            RETURNING campaign_id
        )
        INSERT INTO ad_daily_stats AS s (campaign_id, day, slot, clicks)
        SELECT campaign_id, {KOREAN_TODAY}, $4, 1 FROM fresh
        ON CONFLICT (campaign_id, day, slot) DO UPDATE SET clicks = s.clicks + 1
        RETURNING 1"
    )))
    .bind(campaign)
    .bind(viewer)
    .bind(window_secs)
    .bind(slot)
    .fetch_optional(db)
    .await?;
    Ok(counted.is_some())
}

/// Forgets impression de-duplication rows older than `window`; returns how many went.
pub async fn purge_impression_dedup(
    db: impl PgExecutor<'_>,
    window_secs: f64,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM ad_impression_dedup WHERE seen_at <= now() - make_interval(secs => $1)",
    )
    .bind(window_secs)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Forgets click de-duplication rows older than `window`; returns how many went.
pub async fn purge_click_dedup(db: impl PgExecutor<'_>, window_secs: f64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM ad_click_dedup WHERE clicked_at <= now() - make_interval(secs => $1)",
    )
    .bind(window_secs)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DayRow {
    pub day: NaiveDate,
    pub impressions: i64,
    pub clicks: i64,
}

/// Impressions and clicks of every day from `from` to `to` (inclusive), zeros included.
pub async fn daily(
    db: impl PgExecutor<'_>,
    campaign: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<DayRow>> {
    sqlx::query_as(
        "SELECT d.day, COALESCE(SUM(s.impressions), 0)::int8 AS impressions,
            COALESCE(SUM(s.clicks), 0)::int8 AS clicks
        FROM generate_series($2::date, $3::date, interval '1 day') AS g(at)
        CROSS JOIN LATERAL (SELECT g.at::date AS day) AS d
        LEFT JOIN ad_daily_stats s ON s.campaign_id = $1 AND s.day = d.day
        GROUP BY d.day ORDER BY d.day",
    )
    .bind(campaign)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
}

/// Today's date in Korea, by the database's clock.
pub async fn korean_today(db: impl PgExecutor<'_>) -> sqlx::Result<NaiveDate> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {KOREAN_TODAY}")))
        .fetch_one(db)
        .await
}
