//! Banner ads (product description §9, `docs/PRODUCT.md`): admins manage campaigns (banner image, https target,
//! placement, schedule, weight); `GET /v1/ads` serves live banners of a placement by weight and
//! counts an impression for each; a click is counted (once per viewer within a window) and
//! redirected to the campaign's registered target, never anywhere a request names. Counters are
//! kept per campaign and Korean day. `docs/ADS.md` has the design and its decisions.

pub mod link;
pub mod pick;
pub mod routes;
pub mod store;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rand::Rng;
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::person::clean_text;
use crate::http::Refuse as _;
use store::CampaignRow;

/// Most banners one `GET /v1/ads` may ask for.
pub const MAX_SERVED: u32 = 5;
/// Counter rows per campaign and day (see the migration): spreads concurrent upserts.
const COUNTER_SLOTS: i16 = 16;
/// Longest range of days one stats request may cover.
pub const MAX_STATS_DAYS: i64 = 366;
/// Korea Standard Time, UTC+9 all year (no daylight saving since 1988).
const KST_OFFSET_SECS: i32 = 9 * 3600;

/// Where on the site a banner shows. A fixed set: front ends lay out one slot per placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Top of the home page.
    HomeTop,
    /// Above search results.
    SearchTop,
    /// On a product's page.
    ProductDetail,
    /// Above the list of raffles.
    RaffleList,
}

impl Placement {
    pub const ALL: [Placement; 4] = [
        Placement::HomeTop,
        Placement::SearchTop,
        Placement::ProductDetail,
        Placement::RaffleList,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Placement::HomeTop => "home_top",
            Placement::SearchTop => "search_top",
            Placement::ProductDetail => "product_detail",
            Placement::RaffleList => "raffle_list",
        }
    }

    /// The placement named `s`, or a sentence listing the ones there are.
    pub fn parse(s: &str) -> Result<Placement, String> {
        Placement::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Placement::ALL.iter().map(|p| p.as_str()).collect();
                format!("must be one of {}.", names.join(", "))
            })
    }
}

/// Where a campaign stands, by the database's clock (computed by the query, not stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Before `starts_at`.
    Scheduled,
    /// Served and clickable.
    Active,
    /// Paused by an admin within its schedule: not served, clicks refused.
    Paused,
    /// Past `ends_at`, or ended by an admin.
    Ended,
}

/// A campaign as admins see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Campaign {
    pub id: Uuid,
    #[schema(example = "나이키 덩크 래플 오픈")]
    pub name: String,
    /// The banner image (https), normalised.
    #[schema(example = "https://cdn.truffle.kr/banners/dunk.png")]
    pub image_url: String,
    /// Where a click is redirected (https), normalised.
    #[schema(example = "https://www.nike.com/kr/launch")]
    pub target_url: String,
    pub placement: Placement,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// 1 to 1000: a live campaign's share of its placement is its weight over the sum of weights.
    pub weight: i32,
    pub paused: bool,
    pub status: CampaignStatus,
    /// When an admin ended it ("end now"); null otherwise.
    pub ended_at: Option<DateTime<Utc>>,
    /// The admin who created it.
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What can go wrong in the ads domain. The HTTP boundary (`routes.rs`) gives each its code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of a campaign or a stats range is not acceptable.
    #[error(transparent)]
    Invalid(#[from] crate::http::Invalid),
    #[error("no such ad campaign")]
    NotFound,
    /// The campaign was ended by an admin, which is final.
    #[error("the ad campaign was ended")]
    Ended,
    /// The banner is not live now (not started, over, paused or ended).
    #[error("the ad is not running now")]
    NotActive,
    /// A stored row holds a value the code does not know.
    #[error("corrupt ad campaign row: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl TryFrom<CampaignRow> for Campaign {
    type Error = self::Error;
    fn try_from(r: CampaignRow) -> Result<Self, Error> {
        let placement = Placement::parse(&r.placement)
            .map_err(|_| Error::Corrupt(format!("stored placement {:?}", r.placement)))?;
        Ok(Campaign {
            id: r.id,
            name: r.name,
            image_url: r.image_url,
            target_url: r.target_url,
            placement,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            weight: r.weight,
            paused: r.paused,
            status: r.status,
            ended_at: r.ended_at,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A new campaign.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    /// 1 to 100 characters, for admins (never shown to viewers).
    #[schema(example = "나이키 덩크 래플 오픈", min_length = 1, max_length = 100)]
    pub name: String,
    /// https only, no user name or password, at most 2048 characters; stored normalised.
    #[schema(
        example = "https://cdn.truffle.kr/banners/dunk.png",
        max_length = 2048,
        pattern = r"^https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,4})?([/?#][A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*)?$"
    )]
    pub image_url: String,
    /// https only, no user name or password, at most 2048 characters; stored normalised.
    #[schema(
        example = "https://www.nike.com/kr/launch",
        max_length = 2048,
        pattern = r"^https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,4})?([/?#][A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*)?$"
    )]
    pub target_url: String,
    /// `home_top`, `search_top`, `product_detail` or `raffle_list`.
    #[schema(value_type = Placement, example = "home_top")]
    pub placement: String,
    /// Default: now. Between the years 2000 and 9999.
    pub starts_at: Option<DateTime<Utc>>,
    /// After `starts_at`, and in the future; between the years 2000 and 9999.
    pub ends_at: DateTime<Utc>,
    /// 1 to 1000; default 100.
    #[schema(minimum = 1, maximum = 1000)]
    pub weight: Option<i64>,
    /// Create it paused; default false.
    pub paused: Option<bool>,
}

/// Fields a PATCH may change; each left out keeps its value.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignPatch {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(
        max_length = 2048,
        pattern = r"^https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,4})?([/?#][A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*)?$"
    )]
    pub image_url: Option<String>,
    #[schema(
        max_length = 2048,
        pattern = r"^https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,4})?([/?#][A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*)?$"
    )]
    pub target_url: Option<String>,
    #[schema(value_type = Option<Placement>)]
    pub placement: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    /// In the future; to stop a campaign now, end it instead.
    pub ends_at: Option<DateTime<Utc>>,
    #[schema(minimum = 1, maximum = 1000)]
    pub weight: Option<i64>,
    /// Pause (true) or resume (false).
    pub paused: Option<bool>,
}

/// A banner to show.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServedAd {
    pub id: Uuid,
    #[schema(example = "https://cdn.truffle.kr/banners/dunk.png")]
    pub image_url: String,
    pub placement: Placement,
    /// Link the banner here (same origin as the API): it counts the click and redirects to the
    /// advertiser.
    #[schema(example = "/v1/ads/01936b2e-8f7a-7c3e-9d41-5a6f3c2b1e00/click")]
    pub click_url: String,
}

/// One Korean day of a campaign.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DayStats {
    /// The calendar day in Korea (Asia/Seoul).
    pub day: NaiveDate,
    pub impressions: i64,
    /// Counted clicks: repeated clicks of one viewer within the de-duplication window count once.
    pub clicks: i64,
    /// clicks / impressions, a fraction (0.05 = 5%); null when there were no impressions.
    pub ctr: Option<f64>,
}

/// A campaign's counters over a range of Korean days.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CampaignStats {
    pub campaign_id: Uuid,
    #[schema(example = "Asia/Seoul")]
    pub time_zone: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Every day from `from` to `to`, oldest first, days without activity included.
    pub days: Vec<DayStats>,
    /// The whole range.
    pub total: TotalStats,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TotalStats {
    pub impressions: i64,
    pub clicks: i64,
    pub ctr: Option<f64>,
}

fn ctr(impressions: i64, clicks: i64) -> Option<f64> {
    (impressions > 0).then(|| clicks as f64 / impressions as f64)
}

/// Who saw or clicked a banner, as far as de-duplication goes.
#[derive(Debug, Clone, Copy)]
pub enum Viewer {
    /// A logged-in user (a valid access token was sent).
    User(Uuid),
    /// Anyone else: the client address (see `ClientIp`), by its prefix
    /// (`ratelimit::address_prefix`: IPv4 whole, IPv6 by /64). Not the User-Agent: a client
    /// rotating it would count again.
    Anonymous { ip: IpAddr },
}

/// What a click leads to.
#[derive(Debug)]
pub struct Click {
    /// The campaign's registered target URL.
    pub target_url: String,
    /// False when this viewer's click was already counted within the window.
    pub counted: bool,
}

#[derive(Clone)]
pub struct Ads(Arc<AdsInner>);

pub struct AdsInner {
    pub db: PgPool,
    /// Repeated clicks of one viewer on one campaign within this window count once.
    pub click_dedup_window: Duration,
    /// Repeated impressions of one campaign to one viewer within this window count once.
    pub impression_dedup_window: Duration,
    /// Keys the viewer hash, so that the de-duplication table cannot be turned back into IPs.
    viewer_key: SecretBox<Vec<u8>>,
}

impl std::ops::Deref for Ads {
    type Target = AdsInner;
    fn deref(&self) -> &AdsInner {
        &self.0
    }
}

/// Validated, normalised campaign fields.
struct Fields {
    name: String,
    image_url: String,
    target_url: String,
    placement: Placement,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    weight: i32,
    paused: bool,
}

impl Fields {
    fn as_store(&self) -> store::CampaignFields<'_> {
        store::CampaignFields {
            name: &self.name,
            image_url: &self.image_url,
            target_url: &self.target_url,
            placement: self.placement.as_str(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            weight: self.weight,
            paused: self.paused,
        }
    }

    /// Checks the fields that depend on each other or on the clock.
    fn check_schedule(&self, now: DateTime<Utc>, ends_at_given: bool) -> Result<(), Error> {
        for (field, at) in [("starts_at", self.starts_at), ("ends_at", self.ends_at)] {
            if !in_service_years(at.date_naive()) {
                return Err(Error::invalid(field, YEARS));
            }
        }
        if self.ends_at <= self.starts_at {
            return Err(Error::invalid("ends_at", "must be after starts_at."));
        }
        if ends_at_given && self.ends_at <= now {
            return Err(Error::invalid(
                "ends_at",
                "must be in the future (to stop a campaign now, end it).",
            ));
        }
        Ok(())
    }
}

/// Dates we accept: far enough from the ends of what PostgreSQL and chrono can hold that no
/// arithmetic on them fails.
fn in_service_years(day: NaiveDate) -> bool {
    use chrono::Datelike;
    (2000..=9999).contains(&day.year())
}

const YEARS: &str = "must be between the years 2000 and 9999.";

fn name_of(input: &str) -> Result<String, Error> {
    clean_text(input, 1, 100).ok_or_else(|| Error::invalid("name", "must be 1 to 100 characters."))
}

fn url_of(field: &str, input: &str) -> Result<String, Error> {
    link::https_url(input).map_err(|why| Error::invalid(field, why))
}

fn placement_of(input: &str) -> Result<Placement, Error> {
    Placement::parse(input).map_err(|why| Error::invalid("placement", &why))
}

fn weight_of(input: i64) -> Result<i32, Error> {
    if (1..=1000).contains(&input) {
        Ok(input as i32)
    } else {
        Err(Error::invalid("weight", "must be 1 to 1000."))
    }
}

/// The viewer-hash key for a deployment, derived from a server secret under its own label so it
/// is never the same key as anything else derived from that secret.
pub fn derive_viewer_key(server_secret: &[u8]) -> Vec<u8> {
    hmac_framed(server_secret, &[b"truffle.ads.viewer/1"])
}

/// HMAC-SHA256 of `parts`, each length-prefixed so that no two different part lists hash alike.
fn hmac_framed(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let framed: Vec<u8> = parts
        .iter()
        .flat_map(|part| {
            (part.len() as u64)
                .to_be_bytes()
                .into_iter()
                .chain(part.iter().copied())
        })
        .collect();
    crate::crypto::hmac_sha256(key, &[&framed])
}

/// The keyed hash that stands for a viewer: of the user id, else of the client's address
/// prefix alone (IPv6 by its /64, which one household or phone keeps while its privacy
/// addresses rotate).
pub fn viewer_hash(key: &[u8], viewer: Viewer) -> Vec<u8> {
    match viewer {
        Viewer::User(id) => hmac_framed(key, &[b"user", id.as_bytes()]),
        Viewer::Anonymous { ip } => {
            let prefix = crate::ratelimit::address_key(ip);
            hmac_framed(key, &[b"address", prefix.as_bytes()])
        }
    }
}

/// Today's date in Korea by this process's clock (for defaults only; counters use the database's).
pub fn korean_date(at: DateTime<Utc>) -> NaiveDate {
    let kst = chrono::FixedOffset::east_opt(KST_OFFSET_SECS).expect("UTC+9 is a valid offset");
    at.with_timezone(&kst).date_naive()
}

impl Ads {
    pub fn new(
        db: PgPool,
        click_dedup_window: Duration,
        impression_dedup_window: Duration,
        viewer_key: Vec<u8>,
    ) -> Self {
        Ads(Arc::new(AdsInner {
            db,
            click_dedup_window,
            impression_dedup_window,
            viewer_key: SecretBox::new(Box::new(viewer_key)),
        }))
    }

    fn window_secs(&self) -> f64 {
        self.click_dedup_window.as_secs_f64()
    }

    pub fn viewer_hash(&self, viewer: Viewer) -> Vec<u8> {
        viewer_hash(self.viewer_key.expose_secret(), viewer)
    }

    /// Creates a campaign.
    pub async fn create(&self, admin: Uuid, new: NewCampaign) -> Result<Campaign, Error> {
        let now = Utc::now();
        let fields = Fields {
            name: name_of(&new.name)?,
            image_url: url_of("image_url", &new.image_url)?,
            target_url: url_of("target_url", &new.target_url)?,
            placement: placement_of(&new.placement)?,
            starts_at: new.starts_at.unwrap_or(now),
            ends_at: new.ends_at,
            weight: weight_of(new.weight.unwrap_or(100))?,
            paused: new.paused.unwrap_or(false),
        };
        fields.check_schedule(now, true)?;
        let row = store::insert(&self.db, Uuid::now_v7(), admin, fields.as_store()).await?;
        Campaign::try_from(row)
    }

    pub async fn campaign(&self, id: Uuid) -> Result<Campaign, Error> {
        let row = store::find(&self.db, id).await?.ok_or(Error::NotFound)?;
        Campaign::try_from(row)
    }

    /// A page of campaigns, newest first, and the cursor of the next page.
    pub async fn list(
        &self,
        placement: Option<Placement>,
        cursor: Option<Uuid>,
        limit: i64,
    ) -> Result<(Vec<Campaign>, Option<Uuid>), Error> {
        let rows = store::list(
            &self.db,
            placement.map(Placement::as_str),
            cursor,
            limit + 1,
        )
        .await?;
        let (rows, next) = crate::db::page_of(rows, limit, |r| r.id);
        let items = rows
            .into_iter()
            .map(Campaign::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, next))
    }

    /// Changes a campaign. One ended by an admin is final: `ad_ended`.
    pub async fn update(&self, id: Uuid, patch: CampaignPatch) -> Result<Campaign, Error> {
        let mut tx = self.db.begin().await?;
        let row = store::lock(&mut *tx, id).await?.ok_or(Error::NotFound)?;
        if row.ended_at.is_some() {
            return Err(Error::Ended);
        }
        let fields = Fields {
            name: match &patch.name {
                Some(n) => name_of(n)?,
                None => row.name,
            },
            image_url: match &patch.image_url {
                Some(u) => url_of("image_url", u)?,
                None => row.image_url,
            },
            target_url: match &patch.target_url {
                Some(u) => url_of("target_url", u)?,
                None => row.target_url,
            },
            placement: match &patch.placement {
                Some(p) => placement_of(p)?,
                None => placement_of(&row.placement)?,
            },
            starts_at: patch.starts_at.unwrap_or(row.starts_at),
            ends_at: patch.ends_at.unwrap_or(row.ends_at),
            weight: match patch.weight {
                Some(w) => weight_of(w)?,
                None => row.weight,
            },
            paused: patch.paused.unwrap_or(row.paused),
        };
        fields.check_schedule(Utc::now(), patch.ends_at.is_some())?;
        let row = store::update(&mut *tx, id, fields.as_store()).await?;
        tx.commit().await?;
        Campaign::try_from(row)
    }

    /// Ends a campaign now, for good. Ending it again changes nothing.
    pub async fn end(&self, id: Uuid) -> Result<Campaign, Error> {
        let row = store::end(&self.db, id).await?.ok_or(Error::NotFound)?;
        Campaign::try_from(row)
    }

    /// Up to `limit` live banners of `placement`, chosen by weight without repeats, each counted
    /// as one impression unless this viewer had one counted within the window.
    pub async fn serve(
        &self,
        placement: Placement,
        limit: u32,
        viewer: Viewer,
    ) -> Result<Vec<ServedAd>, Error> {
        let live = store::live(&self.db, placement.as_str()).await?;
        let weights: Vec<u32> = live.iter().map(|c| c.weight.max(0) as u32).collect();
        let (chosen, slot) = {
            let mut rng = rand::rng();
            let chosen = pick::pick(&weights, limit as usize, &mut rng);
            (chosen, rng.random_range(0..COUNTER_SLOTS))
        };
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let served: Vec<ServedAd> = chosen
            .into_iter()
            .map(|i| {
                let c = &live[i];
                ServedAd {
                    id: c.id,
                    image_url: c.image_url.clone(),
                    placement,
                    click_url: format!("/v1/ads/{}/click", c.id),
                }
            })
            .collect();
        let ids: Vec<Uuid> = served.iter().map(|a| a.id).collect();
        let viewer = self.viewer_hash(viewer);
        let window = self.impression_dedup_window.as_secs_f64();
        store::count_impressions(&self.db, &ids, &viewer, window, slot).await?;
        Ok(served)
    }

    /// A click on a banner: the campaign's registered target, and whether the click counted.
    /// Unknown campaigns are `not_found`; ones not live now (not started, over, paused, ended)
    /// are `ad_not_active`. `count` false (a HEAD request) looks the target up and counts nothing.
    pub async fn click(&self, id: Uuid, viewer: Viewer, count: bool) -> Result<Click, Error> {
        let target = store::click_target(&self.db, id)
            .await?
            .ok_or(Error::NotFound)?;
        if !target.live {
            return Err(Error::NotActive);
        }
        let counted = if count {
            let slot = rand::rng().random_range(0..COUNTER_SLOTS);
            let viewer = self.viewer_hash(viewer);
            store::count_click(&self.db, id, &viewer, self.window_secs(), slot).await?
        } else {
            false
        };
        Ok(Click {
            target_url: target.target_url,
            counted,
        })
    }

    /// Impressions, clicks and CTR per Korean day. Default range: the 30 days up to today (KST).
    pub async fn stats(
        &self,
        id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<CampaignStats, Error> {
        store::find(&self.db, id).await?.ok_or(Error::NotFound)?;
        let to = match to {
            Some(to) => to,
            None => store::korean_today(&self.db).await?,
        };
        if !in_service_years(to) {
            return Err(Error::invalid("to", YEARS));
        }
        let from = from.unwrap_or_else(|| to - chrono::Days::new(29));
        if !in_service_years(from) {
            return Err(Error::invalid("from", YEARS));
        }
        if from > to {
            return Err(Error::invalid("from", "must not be after `to`."));
        }
        if (to - from).num_days() + 1 > MAX_STATS_DAYS {
            return Err(Error::invalid(
                "from",
                "the range may cover at most 366 days.",
            ));
        }
        let rows = store::daily(&self.db, id, from, to).await?;
        let (impressions, clicks) = rows
            .iter()
            .fold((0, 0), |(i, c), r| (i + r.impressions, c + r.clicks));
        Ok(CampaignStats {
            campaign_id: id,
            time_zone: "Asia/Seoul".into(),
            from,
            to,
            days: rows
                .into_iter()
                .map(|r| DayStats {
                    day: r.day,
                    impressions: r.impressions,
                    clicks: r.clicks,
                    ctr: ctr(r.impressions, r.clicks),
                })
                .collect(),
            total: TotalStats {
                impressions,
                clicks,
                ctr: ctr(impressions, clicks),
            },
        })
    }

    /// Forgets click and impression de-duplication rows older than their windows (they no
    /// longer stop a count); the ads housekeeping loop calls it every minute. Returns how many
    /// rows went.
    pub async fn purge_click_dedup(&self) -> Result<u64, sqlx::Error> {
        let clicks = store::purge_click_dedup(&self.db, self.window_secs()).await?;
        let impressions =
            store::purge_impression_dedup(&self.db, self.impression_dedup_window.as_secs_f64())
                .await?;
        Ok(clicks + impressions)
    }

    /// Runs [`Ads::purge_click_dedup`] every `every` until `stop` turns true. Safe on every
    /// replica at once: the delete is idempotent.
    pub async fn run_housekeeping(self, every: Duration, stop: tokio::sync::watch::Receiver<bool>) {
        let mut ticks = crate::periodic::Ticks::new(every, stop);
        while ticks.next().await {
            match self.purge_click_dedup().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(rows = n, "purged ad click de-duplication rows"),
                Err(e) => tracing::warn!(error = %e, "ad click de-duplication purge failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_round_trip_and_unknown_ones_are_listed() {
        for p in Placement::ALL {
            assert_eq!(Placement::parse(p.as_str()), Ok(p));
            assert_eq!(
                serde_json::to_value(p).unwrap(),
                serde_json::json!(p.as_str())
            );
        }
        let err = Placement::parse("sidebar").unwrap_err();
        assert!(
            err.contains("home_top") && err.contains("raffle_list"),
            "{err}"
        );
    }

    #[test]
    fn ctr_is_null_without_impressions() {
        assert_eq!(ctr(0, 0), None);
        assert_eq!(ctr(0, 3), None);
        assert_eq!(ctr(4, 1), Some(0.25));
        assert_eq!(ctr(10, 0), Some(0.0));
    }

    #[test]
    fn korean_date_turns_at_15_utc() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(korean_date(at("2026-11-21T14:59:59Z")), d("2026-11-21"));
        assert_eq!(korean_date(at("2026-11-21T15:00:00Z")), d("2026-11-22"));
    }

    #[test]
    fn viewer_hashes_are_keyed_and_never_contain_the_address() {
        let key = derive_viewer_key(b"one");
        let other_key = derive_viewer_key(b"two");
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let v = Viewer::Anonymous { ip };
        let h = viewer_hash(&key, v);
        assert_eq!(h.len(), 32);
        assert_ne!(
            h,
            viewer_hash(&other_key, v),
            "another key gives another hash"
        );
        assert!(!h.windows(4).any(|w| w == [203, 0, 113, 7]));
        assert!(!h.windows(12).any(|w| w == b"203.0.113.7/"));
        let other = Viewer::Anonymous {
            ip: "203.0.113.8".parse().unwrap(),
        };
        assert_ne!(h, viewer_hash(&key, other));
        // IPv4-mapped IPv6 is the IPv4 address.
        let mapped = Viewer::Anonymous {
            ip: "::ffff:203.0.113.7".parse().unwrap(),
        };
        assert_eq!(h, viewer_hash(&key, mapped));
        // One IPv6 /64 is one viewer; another /64 is not.
        let v6 = |ip: &str| Viewer::Anonymous {
            ip: ip.parse().unwrap(),
        };
        assert_eq!(
            viewer_hash(&key, v6("2001:db8:1:2::1")),
            viewer_hash(&key, v6("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            viewer_hash(&key, v6("2001:db8:1:2::1")),
            viewer_hash(&key, v6("2001:db8:1:3::1"))
        );
        let user = Uuid::now_v7();
        assert_eq!(
            viewer_hash(&key, Viewer::User(user)),
            viewer_hash(&key, Viewer::User(user))
        );
        assert_ne!(viewer_hash(&key, Viewer::User(user)), h);
    }
}
