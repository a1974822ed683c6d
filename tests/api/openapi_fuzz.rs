//! A property test generated from the OpenAPI document itself, not from a hand-kept list: for
//! every operation of `truffle::router::openapi()` and every string it takes (path and query
//! parameters, headers, JSON body fields at any depth, array items), hostile strings are sent
//! in place of a plausible value, anonymously and as a signed-in buyer. Whatever the answer, it
//! is never a 5xx. Deterministic: a fixed list of strings and a seeded generator for the rest.

use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::helpers::TestApp;

/// What replaces a string; `Surrogate` is a lone UTF-16 surrogate, which no Rust string holds:
/// `"\ud800"` in a JSON body, its would-be UTF-8 bytes (`%ED%A0%80`) in a URL.
#[derive(Clone, Debug)]
enum Hostile {
    Text(String),
    Surrogate,
}

fn hostile_strings() -> Vec<Hostile> {
    let texts = [
        "\u{0}".to_owned(),
        "a\u{0}b".to_owned(),
        "\u{1}\u{8}\u{b}\u{1b}\u{1f}".to_owned(),
        "\u{7f}\u{85}\u{9f}".to_owned(),
        "line\u{2028}break\u{2029}".to_owned(),
        "\u{202e}evil\u{202c}".to_owned(),
        "\u{2066}isolate\u{2069}".to_owned(),
        "\u{200f}\u{200e}rtl".to_owned(),
        "한".to_owned(),
        "\u{1112}\u{1161}\u{11ab}".to_owned(),
        "x".repeat(100_000),
        "가".repeat(34_000),
        "🦄\u{fe0f}\u{200d}".to_owned(),
        "' OR 1=1 --; DROP TABLE users".to_owned(),
        "../../%2e%2e/etc/passwd".to_owned(),
        String::new(),
        " \t\n".to_owned(),
        "\u{feff}\u{fffe}\u{ffff}".to_owned(),
    ];
    texts
        .into_iter()
        .map(Hostile::Text)
        .chain([Hostile::Surrogate])
        .collect()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Follows `$ref`s into the document's components.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..16 {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                s = doc
                    .pointer(r.trim_start_matches('#'))
                    .unwrap_or(&Value::Null)
            }
            None => break,
        }
    }
    s
}

fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// A plausible value for a schema: its example, its first enum value, or one of its type.
fn sample(doc: &Value, schema: &Value, rng: &mut StdRng, depth: usize) -> Value {
    let schema = resolve(doc, schema);
    if depth > 6 {
        return Value::Null;
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(items) = schema.get(key).and_then(Value::as_array) {
            // The first alternative that is not `null`.
            let pick = items
                .iter()
                .find(|i| types_of(resolve(doc, i)) != ["null"])
                .unwrap_or(&Value::Null);
            return sample(doc, pick, rng, depth + 1);
        }
    }
    if let Some(example) = schema
        .get("example")
        .or_else(|| schema.pointer("/examples/0"))
    {
        return example.clone();
    }
    if let Some(first) = schema.pointer("/enum/0") {
        return first.clone();
    }
    let types = types_of(schema);
    let kind = types.iter().find(|t| **t != "null").copied().unwrap_or("");
    match kind {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    out.insert(name.clone(), sample(doc, prop, rng, depth + 1));
                }
            }
            Value::Object(out)
        }
        "array" => json!([sample(
            doc,
            schema.get("items").unwrap_or(&Value::Null),
            rng,
            depth + 1
        )]),
        "integer" | "number" => schema.get("minimum").cloned().unwrap_or(json!(1)),
        "boolean" => json!(true),
        "string" => Value::String(match schema.get("format").and_then(Value::as_str) {
            Some("uuid") => uuid::Uuid::from_u128(rng.random()).to_string(),
            Some("date") => "2026-01-01".into(),
            Some("date-time") => "2026-01-01T00:00:00Z".into(),
            _ => "x".repeat(
                schema
                    .get("minLength")
                    .and_then(Value::as_u64)
                    .unwrap_or(1)
                    .max(1) as usize,
            ),
        }),
        _ => Value::Null,
    }
}

/// Where a string goes in a request.
#[derive(Clone, Debug)]
enum Slot {
    Path(String),
    Query(String),
    Header(String),
    /// A JSON pointer into the body.
    Body(String),
}

/// One operation with plausible values everywhere.
#[derive(Clone, Debug)]
struct Call {
    method: Method,
    template: String,
    path: Vec<(String, String)>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    secured: bool,
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn calls(doc: &Value, rng: &mut StdRng) -> Vec<(Call, Vec<Slot>)> {
    let mut out = Vec::new();
    let paths = doc["paths"].as_object().expect("the document has paths");
    for (template, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let mut call = Call {
                method: method.to_uppercase().parse().unwrap(),
                template: template.clone(),
                path: vec![],
                query: vec![],
                headers: vec![],
                body: None,
                secured: op.get("security").is_some(),
            };
            let mut slots = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let p = resolve(doc, p);
                let name = p["name"].as_str().unwrap().to_owned();
                let schema = p.get("schema").unwrap_or(&Value::Null);
                let value = scalar_text(&sample(doc, schema, rng, 0));
                let is_string = types_of(resolve(doc, schema)).contains(&"string")
                    || resolve(doc, schema).get("enum").is_some();
                match p["in"].as_str() {
                    Some("path") => {
                        call.path.push((name.clone(), value));
                        slots.push(Slot::Path(name));
                    }
                    Some("query") => {
                        call.query.push((name.clone(), value));
                        if is_string {
                            slots.push(Slot::Query(name));
                        }
                    }
                    Some("header") => {
                        call.headers.push((name.clone(), value));
                        slots.push(Slot::Header(name));
                    }
                    _ => {}
                }
            }
            if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
                let body = sample(doc, schema, rng, 0);
                string_leaves(&body, String::new(), &mut |ptr| slots.push(Slot::Body(ptr)));
                call.body = Some(body);
            }
            out.push((call, slots));
        }
    }
    out
}

/// Every string in a sample, as a JSON pointer.
fn string_leaves(v: &Value, at: String, found: &mut impl FnMut(String)) {
    match v {
        Value::String(_) => found(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_leaves(item, format!("{at}/{i}"), found);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                string_leaves(item, format!("{at}/{key}"), found);
            }
        }
        _ => {}
    }
}

/// Percent-encoding of everything but the unreserved characters.
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The longest URL text a slot gets: a URI longer than 64 kB is refused before it is sent
/// (by the client as by the server), so long strings are cut to fit there.
const MAX_URL_TEXT: usize = 48_000;

fn url_text(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    loop {
        let encoded = percent(&chars.iter().collect::<String>());
        if encoded.len() <= MAX_URL_TEXT {
            return encoded;
        }
        chars.truncate(chars.len() / 2);
    }
}

const SURROGATE_MARK: &str = "\u{e000}surrogate\u{e000}";

/// Builds and sends one request with `slot` holding `hostile`; the answer's status, or why
/// there was none.
async fn send(
    app: &TestApp,
    call: &Call,
    slot: &Slot,
    hostile: &Hostile,
    token: Option<&str>,
) -> Result<u16, String> {
    let (text, url_text) = match hostile {
        Hostile::Text(t) => (t.clone(), url_text(t)),
        Hostile::Surrogate => (SURROGATE_MARK.to_owned(), "%ED%A0%80".to_owned()),
    };
    let mut path = call.template.clone();
    for (name, value) in &call.path {
        let v = match slot {
            Slot::Path(n) if n == name => url_text.clone(),
            _ => percent(value),
        };
        path = path.replace(&format!("{{{name}}}"), &v);
    }
    let query: Vec<String> = call
        .query
        .iter()
        .map(|(name, value)| match slot {
            Slot::Query(n) if n == name => format!("{name}={url_text}"),
            _ => format!("{name}={}", percent(value)),
        })
        .collect();
    let url = format!("{}{path}?{}", app.base, query.join("&"));
    let mut req = app.http.request(call.method.clone(), url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (name, value) in &call.headers {
        let v = match slot {
            Slot::Header(n) if n == name => text.clone(),
            _ => value.clone(),
        };
        // A header cannot carry every byte; those it cannot are not sent at all.
        if let Ok(v) = reqwest::header::HeaderValue::from_bytes(v.as_bytes()) {
            req = req.header(name.as_str(), v);
        }
    }
    if let Some(body) = &call.body {
        let mut body = body.clone();
        if let Slot::Body(ptr) = slot
            && let Some(leaf) = body.pointer_mut(ptr)
        {
            *leaf = Value::String(text.clone());
        }
        let raw = serde_json::to_string(&body)
            .unwrap()
            .replace(&format!("\"{SURROGATE_MARK}\""), "\"\\ud800\"");
        req = req.header("content-type", "application/json").body(raw);
    }
    let res = req.send().await.map_err(|e| e.to_string())?;
    Ok(res.status().as_u16())
}

#[tokio::test]
async fn no_operation_answers_hostile_strings_with_a_5xx() {
    let app = TestApp::spawn().await;
    let buyer = app.buyer().await;
    let doc = serde_json::to_value(truffle::router::openapi()).unwrap();
    let mut rng = StdRng::seed_from_u64(0x7275_6666_6c65);
    let hostile = hostile_strings();

    let mut cases = Vec::new();
    let mut operations = 0;
    for (call, slots) in calls(&doc, &mut rng) {
        operations += 1;
        // Logging out would end the buyer's session for the rest of the run.
        let signed_in = call.secured && call.template != "/v1/auth/logout";
        for slot in &slots {
            for h in &hostile {
                cases.push((call.clone(), slot.clone(), h.clone(), None));
                if signed_in {
                    cases.push((call.clone(), slot.clone(), h.clone(), Some(buyer.clone())));
                }
            }
        }
    }
    assert!(
        operations >= 60,
        "only {operations} operations in the document"
    );
    let total = cases.len();
    let failures: Vec<String> = futures::stream::iter(cases)
        .map(|(call, slot, h, token)| {
            let app = &app;
            async move {
                match send(app, &call, &slot, &h, token.as_deref()).await {
                    Ok(status) if status < 500 => None,
                    outcome => Some(format!(
                        "{} {} {slot:?} {} signed_in={}: {:.200}",
                        call.method,
                        call.template,
                        match &h {
                            Hostile::Text(t) =>
                                format!("{:?}", t.chars().take(20).collect::<String>()),
                            Hostile::Surrogate => "lone surrogate".into(),
                        },
                        token.is_some(),
                        format!("{outcome:?}")
                    )),
                }
            }
        })
        .buffer_unordered(8)
        .filter_map(|f| async move { f })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} of {total} hostile requests got no 4xx:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The buyer's session lived through it (nothing above could end it).
    app.get("/v1/me", Some(&buyer)).await.ok();
}
