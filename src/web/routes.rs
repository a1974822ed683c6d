//! The verification page's own addresses, and the CORS rule that lets a page saved to disk
//! read the public records.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

use super::Page;
use crate::http::{ErrorBody, Path};

/// A product's public page: verifies the product's proof bundle in the visitor's browser
/// (`docs/PROTOCOLS.md` §4.2) against the chain, and says which check failed, if any.
///
/// Anyone may call this.
#[utoipa::path(get, path = "/p/{id}", tag = "verification",
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, description = "The verification page (the same document for every product; it reads the id from its address)", content_type = "text/html", body = String),
        (status = 304, description = "Not modified (`If-None-Match` matched the ETag)"),
        (status = 400, description = "`invalid_path_parameter`", body = ErrorBody)))]
pub async fn product_page(
    State(page): State<Page>,
    headers: HeaderMap,
    Path(_id): Path<Uuid>,
) -> Response {
    page.respond(&headers)
}

/// A raffle's public page: re-runs the draw in the visitor's browser from the published ticket
/// list and the chain (`docs/PROTOCOLS.md` §7.7), and finds the visitor's own ticket in it.
///
/// Anyone may call this.
#[utoipa::path(get, path = "/r/{id}", tag = "verification",
    params(("id" = Uuid, Path, description = "Raffle id")),
    responses(
        (status = 200, description = "The verification page", content_type = "text/html", body = String),
        (status = 304, description = "Not modified (`If-None-Match` matched the ETag)"),
        (status = 400, description = "`invalid_path_parameter`", body = ErrorBody)))]
pub async fn raffle_page(
    State(page): State<Page>,
    headers: HeaderMap,
    Path(_id): Path<Uuid>,
) -> Response {
    page.respond(&headers)
}

/// The records the page reads are public, and a page opened from disk has no origin (`null`):
/// a GET of a unit, a proof, a history, a draw or a ticket list may be read from any origin.
/// Nothing else is, and no credentials ride along (`*` forbids them).
pub async fn public_records_cors(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let public = request.method() == Method::GET
        && (path.starts_with("/v1/units/")
            || (path.starts_with("/v1/products/") && path.ends_with("/proof"))
            || (path.starts_with("/v1/raffles/")
                && (path.ends_with("/draw") || path.ends_with("/tickets"))));
    let mut response = next.run(request).await;
    if public {
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}
