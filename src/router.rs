//! Every route of the service, in one place, and the OpenAPI document generated from them.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::from_fn_with_state;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::accounts::routes as accounts;
use crate::ads::routes as ads;
use crate::app::AppState;
use crate::catalogue::routes as catalogue;
use crate::chat::routes as chat;
use crate::http::ErrorBody;
use crate::http::extract::TrustedProxies;
use crate::http::middleware;
use crate::http::openapi::SharedResponses;
use crate::kakao::routes as kakao;
use crate::lifecycle::routes as lifecycle;
use crate::notify::routes as notify;
use crate::ops;
use crate::orders::routes as orders;
use crate::raffles::routes as raffles;
use crate::recommend::routes as recommend;
use crate::search::routes as search;
use crate::units::routes as units;
use crate::web::routes as web;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Truffle API",
        description = "Truffle (Trust + Raffle): limited editions anchored on chain, raffles anyone can re-run.\n\n\
            Errors are `{\"code\", \"message\"}` with a stable `code`; see docs/ERRORS.md.\n\n\
            Demo accounts (run command only): buyer@demo.truffle.kr / truffle-demo-buyer, \
            seller@demo.truffle.kr / truffle-demo-seller, admin@demo.truffle.kr / truffle-demo-admin."
    ),
    modifiers(&BearerAuth),
    // Enums that only query parameters use: parameters refer to them but do not add them.
    components(schemas(ErrorBody, crate::search::index::Sort, crate::accounts::states::ApplicationStatus,
        crate::orders::SalesFilter)),
    tags(
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "identity", description = "Identity verification (본인인증)"),
        (name = "auth", description = "Sign-up, login, tokens"),
        (name = "me", description = "The caller's own account (MyPage)"),
        (name = "sellers", description = "Applying to sell"),
        (name = "admin", description = "Admin-only operations"),
        (name = "catalogue", description = "Limited editions, their signed records and proof bundles"),
        (name = "units", description = "The units of an edition: codes, labels, and their proofs"),
        (name = "verification", description = "The verification page, which checks units, products and draws in the visitor's browser"),
        (name = "raffles", description = "Raffles, entries and draws anyone can re-run"),
        (name = "orders", description = "Winners' orders, payment, shipping and purchase history"),
        (name = "search", description = "Product search in Korean and English, with chain status on every hit"),
        (name = "recommendations", description = "Products ranked for the caller by age, gender and history, each with a reason"),
        (name = "ads", description = "Banner ads: serving, click redirects, and campaigns with their statistics for admins"),
        (name = "kakao", description = "The KakaoTalk chatbot: the Open Builder skill and linking a Kakao user to an account"),
        (name = "chat", description = "Buyer–seller chat: conversations, history, and the live WebSocket (messages and notifications)"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The API routes with their OpenAPI description.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ops::health))
        .routes(routes!(ops::ready))
        .routes(routes!(ops::metrics))
        .routes(routes!(accounts::identity::start_verification))
        .routes(routes!(accounts::identity::confirm_verification))
        .routes(routes!(accounts::auth::signup))
        .routes(routes!(accounts::auth::login))
        .routes(routes!(accounts::auth::refresh))
        .routes(routes!(accounts::auth::logout))
        .routes(routes!(accounts::auth::password_reset))
        .routes(routes!(
            accounts::me::get_me,
            accounts::me::update_me,
            lifecycle::delete_me
        ))
        .routes(routes!(accounts::me::change_password))
        .routes(routes!(
            accounts::sellers::apply,
            accounts::sellers::my_application
        ))
        .routes(routes!(accounts::sellers::list_applications))
        .routes(routes!(accounts::sellers::approve))
        .routes(routes!(accounts::sellers::reject))
        .routes(routes!(catalogue::create, catalogue::list))
        .routes(routes!(
            catalogue::get,
            catalogue::update,
            catalogue::delist
        ))
        .routes(routes!(catalogue::proof))
        .routes(routes!(units::issue, units::set))
        .routes(routes!(units::labels))
        .routes(routes!(units::unit))
        .routes(routes!(units::proof))
        .routes(routes!(units::short_url))
        .routes(routes!(units::digital_link))
        .routes(routes!(units::assign))
        .routes(routes!(units::mine))
        .routes(routes!(units::offer))
        .routes(routes!(units::my_offers))
        .routes(routes!(units::accept))
        .routes(routes!(units::decline))
        .routes(routes!(units::cancel))
        .routes(routes!(units::report, units::withdraw_report))
        .routes(routes!(units::history))
        .routes(routes!(web::product_page))
        .routes(routes!(web::raffle_page))
        .routes(routes!(lifecycle::revoke))
        .routes(routes!(catalogue::sign))
        .routes(routes!(catalogue::mine))
        .routes(routes!(catalogue::signing_key, catalogue::set_signing_key))
        .routes(routes!(raffles::create, raffles::list))
        .routes(routes!(raffles::get))
        .routes(routes!(raffles::enter, raffles::withdraw))
        .routes(routes!(raffles::my_entries))
        .routes(routes!(raffles::cancel))
        .routes(routes!(raffles::tickets))
        .routes(routes!(raffles::ticket_proof))
        .routes(routes!(raffles::draw_record))
        .routes(routes!(orders::get))
        .routes(routes!(orders::pay))
        .routes(routes!(orders::ship))
        .routes(routes!(orders::receive))
        .routes(routes!(orders::refund))
        .routes(routes!(orders::admin_cancel))
        .routes(routes!(orders::toss_webhook))
        .routes(routes!(orders::history))
        .routes(routes!(orders::sales))
        .routes(routes!(orders::needing_attention))
        .routes(routes!(notify::inbox))
        .routes(routes!(notify::mark_read))
        .routes(routes!(search::search))
        .routes(routes!(recommend::mine))
        .routes(routes!(ads::create, ads::list))
        .routes(routes!(ads::get, ads::update))
        .routes(routes!(ads::end))
        .routes(routes!(ads::stats))
        .routes(routes!(ads::serve))
        .routes(routes!(ads::click))
        .routes(routes!(kakao::skill))
        .routes(routes!(kakao::create_code, kakao::status, kakao::unlink))
        .routes(routes!(chat::open, chat::list))
        .routes(routes!(chat::get))
        .routes(routes!(chat::history, chat::send))
        .routes(routes!(chat::mark_read))
        .routes(routes!(chat::socket))
}

/// The routes and their finished OpenAPI document: what each operation says, plus what every
/// operation shares (`http::openapi`), which needs the paths in place.
fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (api, mut openapi) = api().split_for_parts();
    SharedResponses.modify(&mut openapi);
    (api, openapi)
}

/// The OpenAPI document alone (for `truffle openapi` and tests).
pub fn openapi() -> utoipa::openapi::OpenApi {
    parts().1
}

pub fn router(state: AppState) -> Router {
    let (api, openapi) = parts();
    let http = &state.http;
    let trusted = TrustedProxies(Arc::new(http.trusted_proxies.clone()));

    let router = api
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(from_fn_with_state(
            http.request_timeout,
            middleware::timeout,
        ))
        .layer(from_fn_with_state(
            state.metrics.clone(),
            middleware::observe,
        ))
        .layer(DefaultBodyLimit::max(http.body_limit_bytes))
        .layer(axum::middleware::from_fn(web::public_records_cors))
        .layer(axum::Extension(trusted))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .with_state(state.clone());

    let router = match cors(&state.http.cors_allowed_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::from_fn(middleware::client_request_id))
}

/// CORS for a web front end on other origins; none when no origin is configured.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::Value;

    fn document() -> Value {
        serde_json::to_value(super::openapi()).unwrap()
    }

    fn operations(doc: &Value) -> Vec<(String, &Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    out.push((format!("{} {path}", method.to_uppercase()), op));
                }
            }
        }
        out
    }

    #[test]
    fn every_operation_lists_the_shared_answers_that_apply() {
        let doc = document();
        for (name, op) in operations(&doc) {
            let has = |s: &str| op["responses"].get(s).is_some();
            assert!(has("500") && has("503"), "{name}");
            if name.contains('{') {
                assert!(has("404"), "{name}");
            }
            if op.get("requestBody").is_some() || op.get("parameters").is_some() {
                assert!(has("400"), "{name}");
            }
            if op.get("security").is_some() {
                assert!(has("401"), "{name}");
            }
            // Every error answer is a JSON ErrorBody.
            for (status, r) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        r.pointer("/content/application~1json/schema/$ref"),
                        Some(&Value::from("#/components/schemas/ErrorBody")),
                        "{name} {status}"
                    );
                }
            }
        }
    }

    /// Every string a client can send has a pattern, a format or an enum: the text rule at least.
    #[test]
    fn every_string_a_client_sends_keeps_the_text_rule_in_the_document() {
        fn walk(
            doc: &Value,
            schema: &Value,
            at: &str,
            seen: &mut Vec<String>,
            bare: &mut Vec<String>,
        ) {
            if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
                if seen.iter().any(|s| s == r) {
                    return;
                }
                seen.push(r.to_owned());
                let target = doc
                    .pointer(r.trim_start_matches('#'))
                    .unwrap_or_else(|| panic!("{at}: {r} is not in the document"));
                return walk(doc, target, at, seen, bare);
            }
            let is_string = match &schema["type"] {
                Value::String(t) => t == "string",
                Value::Array(ts) => ts.iter().any(|t| t == "string"),
                _ => false,
            };
            if is_string
                && schema.get("pattern").is_none()
                && schema.get("format").is_none()
                && schema.get("enum").is_none()
            {
                bare.push(at.to_owned());
            }
            for key in ["oneOf", "anyOf", "allOf", "prefixItems"] {
                for s in schema[key].as_array().into_iter().flatten() {
                    walk(doc, s, at, seen, bare);
                }
            }
            for key in ["items", "additionalProperties", "propertyNames"] {
                if let Some(s) = schema.get(key).filter(|s| s.is_object()) {
                    walk(doc, s, &format!("{at}.{key}"), seen, bare);
                }
            }
            for (name, s) in schema["properties"].as_object().into_iter().flatten() {
                walk(doc, s, &format!("{at}.{name}"), seen, bare);
            }
        }
        let doc = document();
        let mut bare = Vec::new();
        for (name, op) in operations(&doc) {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] != "header" {
                    walk(
                        &doc,
                        &p["schema"],
                        &format!("{name} {}", p["name"]),
                        &mut vec![],
                        &mut bare,
                    );
                }
            }
            for content in op
                .pointer("/requestBody/content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                walk(
                    &doc,
                    &content.1["schema"],
                    &format!("{name} body"),
                    &mut vec![],
                    &mut bare,
                );
            }
        }
        assert!(bare.is_empty(), "strings without the text rule: {bare:#?}");
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        for r in text.split("\"$ref\":\"").skip(1) {
            let r = r.split('"').next().unwrap();
            assert!(
                doc.pointer(r.trim_start_matches('#')).is_some(),
                "{r} is not in the document"
            );
        }
    }

    /// utoipa keeps one schema per name, silently: two types of one name would describe one of
    /// them wrongly. Every `ToSchema` type's name (or its `as =`) must be unique.
    #[test]
    fn schema_names_are_unique() {
        fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    files(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let mut paths = Vec::new();
        files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut paths,
        );
        let mut names: HashMap<String, Vec<String>> = HashMap::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let manual = line.trim_start().strip_prefix("impl utoipa::ToSchema for ");
                let derived = line.contains("derive(") && line.contains("ToSchema");
                let name = if let Some(rest) = manual {
                    Some(
                        rest.trim_end_matches(" {}")
                            .trim_end_matches(" {")
                            .to_owned(),
                    )
                } else if derived {
                    let mut alias = None;
                    lines[i..].iter().find_map(|l| {
                        if let Some(a) = l.split("as = ").nth(1) {
                            alias = a.split([')', ',']).next().map(|s| s.trim().to_owned());
                        }
                        let item = l
                            .trim_start()
                            .strip_prefix("pub struct ")
                            .or_else(|| l.trim_start().strip_prefix("pub enum "))?;
                        let name = item.split([' ', '<', '{', '(', ';']).next()?.to_owned();
                        Some(alias.clone().unwrap_or(name))
                    })
                } else {
                    None
                };
                if let Some(name) = name {
                    names
                        .entry(name)
                        .or_default()
                        .push(path.display().to_string());
                }
            }
        }
        let dupes: Vec<_> = names.iter().filter(|(_, at)| at.len() > 1).collect();
        assert!(dupes.is_empty(), "schema names used twice: {dupes:?}");
        assert!(names.contains_key("MarkConversationRead") && names.contains_key("SigningRequest"));
    }
}
