//! The verification page in a real headless Chromium (Debian's `chromium` and `chromium-driver`,
//! installed by `scripts/test.sh`), driven over W3C WebDriver: green on a genuine product, a
//! genuine raffle-won unit with two transfers and its raffle, also when saved to disk and opened
//! from there; red on answers a stub server tampers with, each tampering named by its check.

use std::process::Stdio;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestChain};
use crate::owners::genuine_unit;

/// A chromedriver of its own, and one browser session on it (a minimal W3C WebDriver client).
struct Browser {
    driver: tokio::process::Child,
    http: reqwest::Client,
    session: String,
}

const DRIVER_HELP: &str =
    "chromedriver runs (scripts/test.sh installs Debian's chromium and chromium-driver)";

impl Browser {
    async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect(DRIVER_HELP);
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--disable-gpu", "--window-size=430,1400", "--lang=ko-KR",
                         "--allow-file-access-from-files"]
            }
        }}});
        let mut session = None;
        for _ in 0..100 {
            if let Ok(res) = http
                .post(format!("{base}/session"))
                .json(&caps)
                .send()
                .await
            {
                let body: Value = res.json().await.unwrap();
                session = Some(
                    body["value"]["sessionId"]
                        .as_str()
                        .unwrap_or_else(|| panic!("no session: {body}"))
                        .to_owned(),
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Browser {
            driver,
            http,
            session: format!("{base}/session/{}", session.expect(DRIVER_HELP)),
        }
    }

    async fn command(&self, path: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}/{path}", self.session))
            .json(&body)
            .send()
            .await
            .unwrap();
        res.json::<Value>().await.unwrap()["value"].take()
    }

    async fn script(&self, script: &str) -> Value {
        self.command("execute/sync", json!({"script": script, "args": []}))
            .await
    }

    /// Opens `url` and waits for the page's verdict: (`verified` or `failed`, failed checks).
    async fn verdict_of(&self, url: &str) -> (String, Vec<String>) {
        // From a blank page, so that a URL differing only in its #fragment loads afresh.
        self.command("url", json!({"url": "about:blank"})).await;
        self.command("url", json!({"url": url})).await;
        for _ in 0..300 {
            let done = self
                .script("return document.body && document.body.getAttribute('data-done');")
                .await;
            if done == "true" {
                let v = self
                    .script("const v = document.getElementById('verdict'); return [v.getAttribute('data-verdict'), v.getAttribute('data-failed')];")
                    .await;
                let failed = v[1]
                    .as_str()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                return (v[0].as_str().unwrap_or_default().to_owned(), failed);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let text = self.script("return document.body.innerText;").await;
        panic!("no verdict on {url} within 30 s: {text}");
    }

    /// A PNG of the window, written to `target/page-screenshots/{name}.png`.
    async fn screenshot(&self, name: &str) {
        let res = self
            .http
            .get(format!("{}/screenshot", self.session))
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        use base64::Engine as _;
        let png = base64::engine::general_purpose::STANDARD
            .decode(body["value"].as_str().unwrap())
            .unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/page-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn stop(mut self) {
        let _ = self.http.delete(&self.session).send().await;
        let _ = self.driver.kill().await;
    }
}

type Tamper = fn(&str, String) -> String;

/// A server in front of the app that changes one kind of answer: everything else, the page
/// included, passes through unchanged. The page reads records from where it came from, so it
/// reads the tampered ones.
async fn tampering_stub(app_base: &str, tamper: Tamper) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let upstream = app_base.to_owned();
    let http = reqwest::Client::new();
    let handler = move |request: Request| {
        let upstream = upstream.clone();
        let http = http.clone();
        async move {
            let path = request
                .uri()
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default();
            let mut forward = http.get(format!("{upstream}{path}"));
            if let Some(accept) = request.headers().get("accept") {
                forward = forward.header("accept", accept);
            }
            let res = forward.send().await.unwrap();
            let status = res.status();
            let kind = res
                .headers()
                .get("content-type")
                .cloned()
                .unwrap_or_else(|| "text/plain".parse().unwrap());
            let text = res.text().await.unwrap();
            let text = tamper(request.uri().path(), text);
            Response::builder()
                .status(status)
                .header("content-type", kind)
                .header("access-control-allow-origin", "*")
                .body(Body::from(text))
                .unwrap()
        }
    };
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback(handler))
            .await
            .unwrap();
    });
    format!("http://{addr}")
}

/// `text` as JSON, changed by `f`, as text again.
fn edit_json(text: String, f: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(&text).unwrap();
    f(&mut v);
    v.to_string()
}

/// Another lowercase hex digit in place of the one at `at` of `s`.
fn flip(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[at] = if b[at] == b'0' { b'1' } else { b'0' };
    String::from_utf8(b).unwrap()
}

#[tokio::test]
async fn the_page_verifies_genuine_records_in_a_browser_and_names_each_tampering() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| chain.configure(env)).await;
    let g = genuine_unit(&app, &chain).await;
    let browser = Browser::start().await;

    // A browser gets the page at a unit's URL; anything else still gets JSON.
    let json_unit = app.get(&format!("/u/{}", g.code), None).await.ok();
    assert_eq!(json_unit["transfers"], 3);

    // Genuine: the unit (raffle-won, two transfers), its product, its raffle.
    let unit_url = format!("{}/u/{}", app.base, g.code);
    let (verdict, failed) = browser.verdict_of(&unit_url).await;
    assert_eq!((verdict.as_str(), failed), ("verified", vec![]));
    browser.screenshot("genuine-unit").await;
    let owners = browser
        .script("return document.querySelectorAll('ol.owners li').length;")
        .await;
    assert_eq!(owners, 3, "the history shows three owners");
    let shown = browser.script("return document.body.innerText;").await;
    assert!(shown.as_str().unwrap().contains("No. 2 / 5"), "{shown}");
    // Time to a verdict, for the closing note.
    let ms = browser
        .script("return document.body.getAttribute('data-ms');")
        .await;
    eprintln!("unit page: verdict {ms} ms after navigation start");
    let (verdict, failed) = browser
        .verdict_of(&format!("{}/p/{}", app.base, g.product))
        .await;
    assert_eq!((verdict.as_str(), failed), ("verified", vec![]));
    let (verdict, failed) = browser
        .verdict_of(&format!("{}/r/{}", app.base, g.raffle))
        .await;
    assert_eq!((verdict.as_str(), failed), ("verified", vec![]));
    // The visitor's own ticket, found in the re-run draw.
    browser
        .script(&format!(
            "document.getElementById('ticket').value = '{}'; document.getElementById('find-ticket').click(); return 0;",
            g.ticket
        ))
        .await;
    let position = browser
        .script("return document.getElementById('ticket-answer').getAttribute('data-position');")
        .await;
    assert_eq!(
        position, "1",
        "the winner's ticket is first in the draw order"
    );

    // Saved as one file and opened from disk: the same verdict, from the same chain.
    browser.verdict_of(&unit_url).await;
    let saved = browser
        .script("return window.truffleVerify.savedPage();")
        .await;
    let file = std::env::temp_dir().join(format!("truffle-unit-{}.html", g.code));
    std::fs::write(&file, saved.as_str().unwrap()).unwrap();
    let (verdict, failed) = browser
        .verdict_of(&format!("file://{}", file.display()))
        .await;
    assert_eq!(
        (verdict.as_str(), failed),
        ("verified", vec![]),
        "saved page"
    );
    // The visitor's settings win: another registry, and nothing is green.
    let (verdict, failed) = browser
        .verdict_of(&format!(
            "file://{}#registry=0x000000000000000000000000000000000000dead",
            file.display()
        ))
        .await;
    assert_eq!(verdict, "failed");
    assert!(
        failed.contains(&"trusted registry".to_owned()),
        "{failed:?}"
    );
    std::fs::remove_file(&file).ok();

    // Tampered answers, each named.
    let cases: Vec<(&str, Tamper, &str, &[&str])> = vec![
        (
            "a changed record field",
            |path, text| {
                if path.starts_with("/v1/products/") && path.ends_with("/proof") {
                    edit_json(text, |v| v["record"]["name"] = json!("가짜 덩크"))
                } else {
                    text
                }
            },
            "unit",
            &["product"],
        ),
        (
            "a record field given twice (the forgery first)",
            |path, text| {
                if path.ends_with("/proof") && path.starts_with("/v1/products/") {
                    text.replacen("\"record\":{", "\"record\":{\"name\":\"가짜 덩크\",", 1)
                } else {
                    text
                }
            },
            "product",
            &["reading"],
        ),
        (
            "a changed signature",
            |path, text| {
                if path.starts_with("/v1/units/") && path.ends_with("/proof") {
                    edit_json(text, |v| {
                        let s = v["signature"].as_str().unwrap().to_owned();
                        v["signature"] = json!(flip(&s, 20));
                    })
                } else {
                    text
                }
            },
            "unit",
            &["seller signature"],
        ),
        (
            "a changed proof step",
            |path, text| {
                if path.starts_with("/v1/units/") && path.ends_with("/proof") {
                    edit_json(text, |v| {
                        let s = v["unit_proof"][0].as_str().unwrap().to_owned();
                        v["unit_proof"][0] = json!(flip(&s, 10));
                    })
                } else {
                    text
                }
            },
            "unit",
            &["units tree"],
        ),
        (
            "a changed root",
            |path, text| {
                if path.starts_with("/v1/units/") && path.ends_with("/proof") {
                    edit_json(text, |v| {
                        let s = v["root"].as_str().unwrap().to_owned();
                        v["root"] = json!(flip(&s, 30));
                    })
                } else {
                    text
                }
            },
            "unit",
            &["merkle proof", "anchored on chain"],
        ),
        (
            "a changed transfer link",
            |path, text| {
                if path.ends_with("/history") {
                    edit_json(text, |v| {
                        let s = v["transfers"][2]["record"]["previous"]
                            .as_str()
                            .unwrap()
                            .to_owned();
                        v["transfers"][2]["record"]["previous"] = json!(flip(&s, 12));
                    })
                } else {
                    text
                }
            },
            "unit",
            &["owner links", "owner hashes"],
        ),
        (
            "a changed ticket",
            |path, text| {
                if path.ends_with("/tickets") {
                    let first = text.lines().next().unwrap_or_default().to_owned();
                    text.replacen(&first, &flip(&first, 65), 1)
                } else {
                    text
                }
            },
            "raffle",
            &["ticket root"],
        ),
    ];
    for (what, tamper, kind, expected) in cases {
        let stub = tampering_stub(&app.base, tamper).await;
        let url = match kind {
            "unit" => format!("{stub}/u/{}", g.code),
            "product" => format!("{stub}/p/{}", g.product),
            _ => format!("{stub}/r/{}", g.raffle),
        };
        let (verdict, failed) = browser.verdict_of(&url).await;
        assert_eq!(verdict, "failed", "{what}: the verdict is not green");
        for check in expected {
            assert!(
                failed.contains(&(*check).to_owned()),
                "{what}: {check} should fail, failed {failed:?}"
            );
        }
        if what == "a changed signature" {
            browser.screenshot("tampered-unit").await;
        }
    }
    browser.stop().await;
}
