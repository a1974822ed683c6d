//! `GET /v1/search`. Anyone may call it.

use axum::extract::State;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use utoipa::IntoParams;

use super::index::{self, SearchRequest, Sort};
use super::{Search, SearchPage};
use crate::http::page;
use crate::http::{ApiError, ApiResult, ErrorBody, ErrorCode, Json, Query};

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The highest price filter, the highest retail price a product may have.
const MAX_PRICE: u64 = 1_000_000_000_000;
/// How deep pagination goes: results past this are not served (narrow the search instead).
pub const MAX_DEPTH: usize = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Free text over name, brand, category, description, tags and SKU; Korean and English.
    /// Empty or absent: browse with the filters. At most 200 characters.
    #[param(example = "덩크 로우", max_length = 200)]
    pub q: Option<String>,
    /// Brand, any case, e.g. `Nike`.
    pub brand: Option<String>,
    /// Category, any case, e.g. `sneakers`.
    pub category: Option<String>,
    /// `none` (no raffle), `scheduled`, `open`, `closed`, `drawn`, `settled`, `cancelled` or
    /// `void`: the state of the product's newest raffle. Empty: any.
    #[param(pattern = r"^(none|scheduled|open|closed|drawn|settled|cancelled|void)?$")]
    pub raffle_state: Option<String>,
    /// Lowest retail price in won, at most 1000000000000 (the highest a product may have).
    #[param(maximum = 1000000000000_u64)]
    pub min_price: Option<u64>,
    /// Highest retail price in won, at most 1000000000000. Below `min_price`, nothing matches.
    #[param(maximum = 1000000000000_u64)]
    pub max_price: Option<u64>,
    /// Only products whose current record is anchored on chain (and not revoked).
    pub verified: Option<bool>,
    /// `relevance` (default), `newest`, `closing_soon`, `price_asc` or `price_desc`.
    pub sort: Option<Sort>,
    /// The `next_cursor` of the previous page of the same search; another search's cursor is
    /// `409 conflict`.
    #[param(pattern = r"^[0-9]{1,3}\.[0-9a-f]{16}$")]
    pub cursor: Option<String>,
    /// 1 to 50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

fn fingerprint(req: &SearchRequest) -> String {
    let key = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{:?}",
        req.text,
        req.brand.as_deref().map(index::fold),
        req.category.as_deref().map(index::fold),
        req.raffle_state,
        req.min_price,
        req.max_price,
        req.verified_only,
        req.sort
    );
    alloy::primitives::hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

fn clean(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.nfc().collect::<String>().trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Checks the parameters; errors name the parameter.
pub fn request(q: SearchQuery) -> Result<SearchRequest, ApiError> {
    // As sent, before normalisation, as the OpenAPI document counts it.
    if q.q
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_QUERY_CHARS)
    {
        return Err(ApiError::validation(
            "q",
            &format!("must be at most {MAX_QUERY_CHARS} characters."),
        ));
    }
    let text = clean(q.q);
    let limit = page::limit(q.limit, 20, 50)?;
    for (field, price) in [("min_price", q.min_price), ("max_price", q.max_price)] {
        if price.is_some_and(|p| p > MAX_PRICE) {
            return Err(ApiError::validation(
                field,
                "must be at most 1000000000000.",
            ));
        }
    }
    let raffle_state = clean(q.raffle_state)
        .map(|s| {
            index::parse_state(&s).ok_or_else(|| {
                ApiError::validation(
                    "raffle_state",
                    "must be none, scheduled, open, closed, drawn, settled, cancelled or void.",
                )
            })
        })
        .transpose()?;
    let mut req = SearchRequest {
        text,
        brand: clean(q.brand),
        category: clean(q.category),
        raffle_state,
        min_price: q.min_price,
        max_price: q.max_price,
        verified_only: q.verified.unwrap_or(false),
        sort: q.sort.unwrap_or_default(),
        offset: 0,
        limit: limit as usize,
    };
    if let Some(cursor) = q.cursor {
        // `<offset>.<fingerprint>`: where the next page starts, bound to the search it belongs to.
        let (offset, print) = cursor
            .trim()
            .split_once('.')
            .and_then(|(o, f)| Some((o.parse::<usize>().ok()?, f)))
            .filter(|(o, f)| *o < MAX_DEPTH && f.len() == 16)
            .ok_or_else(|| ApiError::validation("cursor", "is not a cursor this API gave."))?;
        if print != fingerprint(&req) {
            return Err(ApiError::with_message(
                ErrorCode::Conflict,
                "cursor: belongs to another search; start again from the first page.",
            ));
        }
        req.offset = offset;
    }
    req.limit = req.limit.min(MAX_DEPTH - req.offset);
    Ok(req)
}

fn next_cursor(req: &SearchRequest, total: u64) -> Option<String> {
    let next = req.offset + req.limit;
    (next < MAX_DEPTH && (next as u64) < total).then(|| format!("{next}.{}", fingerprint(req)))
}

/// Search the catalogue. Every hit carries its product's chain status (anchored or not, root,
/// transaction, confirmations, proof bundle link), read fresh from the catalogue.
///
/// Anyone may call this. Delisted products are never returned. Results go at most 1,000 deep.
#[utoipa::path(get, path = "/v1/search", tag = "search",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of hits with facet counts", body = SearchPage),
        (status = 400, description = "`invalid_query_parameter`, `validation_failed`", body = ErrorBody),
        (status = 409, description = "`conflict`: the cursor belongs to another search", body = ErrorBody),
        (status = 503, description = "`overloaded`: the CPU pool is full; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn search(
    State(search): State<Search>,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<SearchPage>> {
    let req = request(q)?;
    let scored = req.text.is_some() && req.sort == Sort::Relevance;
    let results = search.search(req.clone()).await?;
    let hits = search.hits(&results, scored).await?;
    Ok(Json(SearchPage {
        next_cursor: next_cursor(&req, results.total),
        total: results.total,
        facets: results.facets,
        hits,
    }))
}

impl From<super::Error> for ApiError {
    fn from(e: super::Error) -> Self {
        use super::Error;
        match e {
            Error::Overloaded(e) => e.into(),
            Error::Index(_) => ApiError::internal(e),
            Error::Catalogue(e) => ApiError::from(e),
            Error::Raffles(e) => ApiError::from(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> SearchQuery {
        SearchQuery {
            q: Some(q.into()),
            brand: None,
            category: None,
            raffle_state: None,
            min_price: None,
            max_price: None,
            verified: None,
            sort: None,
            cursor: None,
            limit: None,
        }
    }

    #[test]
    fn a_cursor_only_continues_its_own_search() {
        let req = request(query("덩크")).unwrap();
        let cursor = next_cursor(&req, 100).expect("more pages");
        let mut again = query("덩크");
        again.cursor = Some(cursor.clone());
        assert_eq!(request(again).unwrap().offset, 20);
        let mut other = query("조던");
        other.cursor = Some(cursor);
        assert!(request(other).is_err());
        let mut garbage = query("덩크");
        garbage.cursor = Some("!!".into());
        assert!(request(garbage).is_err());
    }

    #[test]
    fn the_last_page_has_no_cursor_and_depth_is_bounded() {
        let req = request(query("덩크")).unwrap();
        assert_eq!(next_cursor(&req, 20), None);
        let deep = SearchRequest {
            offset: 980,
            limit: 20,
            ..req
        };
        assert_eq!(next_cursor(&deep, 5000), None);
    }

    #[test]
    fn blank_queries_browse_and_long_ones_are_refused() {
        assert_eq!(request(query("   ")).unwrap().text, None);
        assert!(request(query(&"가".repeat(201))).is_err());
        assert!(request(query(&"가".repeat(200))).is_ok());
    }
}
