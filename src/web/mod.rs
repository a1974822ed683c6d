//! The verification page (`docs/VERIFY_PAGE.md`): one HTML document, the same bytes for every
//! unit, product and raffle, that verifies in the visitor's browser. It is built once at start
//! from `web/verify.html`, `web/verify.js` and the libraries vendored in `web/vendor/` (pinned,
//! with their npm integrity in `web/vendor/MANIFEST`), all inline so that the page saved as one
//! file works from disk; the settings it starts with (RPC endpoint, chain id, registry,
//! confirmations, the records' server) are printed on it and the visitor may change them.
//! Being the same bytes everywhere, it is compressed once and cached by ETag; what it verifies
//! it reads from its own address (`/u/{code}`, `/01/{gtin}/21/{code}`, `/p/{id}`, `/r/{id}`).

pub mod routes;

use std::io::Write as _;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

const TEMPLATE: &str = include_str!("../../web/verify.html");
const APP: &str = include_str!("../../web/verify.js");
const ETHERS: &str = include_str!("../../web/vendor/ethers-6.17.0.umd.min.js");
const CANONICALIZE: &str = include_str!("../../web/vendor/canonicalize-5.1.0.js");
pub const MANIFEST: &str = include_str!("../../web/vendor/MANIFEST");

/// What the page starts with; printed on it, changeable by the visitor.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PageSettings {
    /// The RPC endpoint the visitor's browser reads the chain from.
    pub rpc: String,
    #[serde(rename = "chainId")]
    pub chain_id: u64,
    /// The registry, lowercase 0x-hex.
    pub registry: String,
    pub confirmations: u64,
    /// Where a page saved to disk fetches records from (`PUBLIC_BASE_URL`).
    pub api: String,
}

#[derive(Clone)]
pub struct Page(Arc<PageInner>);

pub struct PageInner {
    html: Vec<u8>,
    gzip: Vec<u8>,
    etag: HeaderValue,
    csp: HeaderValue,
}

/// `canonicalize` 5.1.0 is an ES module (`export default function canonicalize`); inline in a
/// classic script it becomes a function the page's script finds on `window`.
fn canonicalize_script() -> String {
    format!(
        "(function () {{\n{}\nwindow.truffleCanonicalize = canonicalize;\n}})();",
        CANONICALIZE.replacen("export default function", "function", 1)
    )
}

fn script_hash(script: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()))
    )
}

impl Page {
    pub fn new(settings: &PageSettings) -> Page {
        let config = serde_json::to_string(settings)
            .expect("page settings serialise")
            .replace('<', "\\u003c");
        let canonicalize = canonicalize_script();
        let html = TEMPLATE
            .replacen("{{CONFIG}}", &config, 1)
            .replacen("{{ETHERS}}", ETHERS, 1)
            .replacen("{{CANONICALIZE}}", &canonicalize, 1)
            .replacen("{{APP}}", APP, 1);
        // Only these three scripts run; the page reads from anywhere (the visitor picks the RPC
        // endpoint), frames nothing and is framed by no one.
        let csp = format!(
            "default-src 'none'; script-src {} {} {}; style-src 'unsafe-inline'; connect-src *; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            script_hash(ETHERS),
            script_hash(&canonicalize),
            script_hash(APP)
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(html.as_bytes())
            .expect("writing to memory succeeds");
        let gzip = gz.finish().expect("writing to memory succeeds");
        let etag = format!(
            "\"{}\"",
            alloy::primitives::hex::encode(&Sha256::digest(html.as_bytes())[..16])
        );
        Page(Arc::new(PageInner {
            html: html.into_bytes(),
            gzip,
            etag: HeaderValue::from_str(&etag).expect("hex is a valid header"),
            csp: HeaderValue::from_str(&csp).expect("the policy is ASCII"),
        }))
    }

    /// The page's bytes and their gzip form (for figures and tests).
    pub fn sizes(&self) -> (usize, usize) {
        (self.0.html.len(), self.0.gzip.len())
    }

    /// The page's scripts' total size in bytes.
    pub fn script_bytes() -> usize {
        ETHERS.len() + canonicalize_script().len() + APP.len()
    }

    /// The page as an answer to a request with these headers: 304 when the ETag matches, gzip
    /// when the client takes it.
    pub fn respond(&self, request: &HeaderMap) -> Response {
        let p = &self.0;
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, p.etag.clone());
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Accept-Encoding"),
        );
        headers.insert(header::CONTENT_SECURITY_POLICY, p.csp.clone());
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if request
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == p.etag.as_bytes())
        {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        let gzip = request
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
        let body = if gzip {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            p.gzip.clone()
        } else {
            p.html.clone()
        };
        (headers, Body::from(body)).into_response()
    }
}

/// Whether a request asks for a page (a browser's `Accept: text/html…`) rather than JSON.
pub fn wants_page(request: &HeaderMap) -> bool {
    request
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().starts_with("text/html")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_libraries_are_the_ones_the_manifest_pins() {
        let files = [
            ("ethers-6.17.0.umd.min.js", ETHERS),
            ("canonicalize-5.1.0.js", CANONICALIZE),
        ];
        let lines: Vec<&str> = MANIFEST
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), files.len());
        for (name, text) in files {
            let line = lines
                .iter()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("{name} is not in the MANIFEST"));
            let sha = line.split_whitespace().last().unwrap();
            assert_eq!(
                alloy::primitives::hex::encode(Sha256::digest(text.as_bytes())),
                sha,
                "{name} is not the file the MANIFEST pins"
            );
        }
    }

    #[test]
    fn the_page_is_one_file_with_its_settings_and_only_hashed_scripts() {
        let page = Page::new(&PageSettings {
            rpc: "http://127.0.0.1:8545".into(),
            chain_id: 31337,
            registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3".into(),
            confirmations: 2,
            api: "https://truffle.example".into(),
        });
        let html = String::from_utf8(page.0.html.clone()).unwrap();
        for slot in ["{{CONFIG}}", "{{ETHERS}}", "{{CANONICALIZE}}", "{{APP}}"] {
            assert!(!html.contains(slot), "{slot} is filled");
        }
        assert!(!html.contains("<script src"), "no script is fetched");
        assert!(html.contains(r#""rpc":"http://127.0.0.1:8545","chainId":31337"#));
        assert!(!html.contains("export default"));
        let csp = page.0.csp.to_str().unwrap();
        assert_eq!(csp.matches("'sha256-").count(), 3);
        let scripts = csp.split(';').find(|d| d.contains("script-src")).unwrap();
        assert!(!scripts.contains("unsafe"), "{scripts}");
        let (raw, gz) = page.sizes();
        assert!(gz < raw / 2, "{gz} of {raw}");
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, page.0.etag.clone());
        assert_eq!(page.respond(&headers).status(), StatusCode::NOT_MODIFIED);
    }
}
