//! What the OpenAPI document says about every operation alike, in one place: the error answers
//! the shared plumbing can give (extractors, authentication, body limit, timeout, database), and
//! the text rule ([`super::text`]) as the `pattern` of every free-text string a client sends.
//! Each operation still lists the answers of its own handler.

use std::collections::BTreeSet;

use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Object, Schema, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

use super::text;

/// The error answers every operation may give, each with the codes behind it.
pub struct SharedResponses;

/// What an operation takes, which decides the shared answers it can give.
struct Takes {
    /// Path, query or header parameters.
    parameters: bool,
    /// A JSON request body.
    json_body: bool,
    /// Any request body.
    body: bool,
    /// An access token (always, or when one is sent).
    token: bool,
    /// A path parameter naming something that may not exist.
    resource: bool,
    /// It writes (POST, PUT, PATCH).
    writes: bool,
}

/// A shared answer: its status, when it applies, what it says.
type Shared = (&'static str, fn(&Takes) -> bool, &'static str);

/// The shared answers.
const SHARED: &[Shared] = &[
    (
        "400",
        |t| t.parameters || t.body,
        "`validation_failed` (a field breaks a constraint, or the text rule: no control \
         characters, line separators or bidi controls), `malformed_json`, \
         `invalid_path_parameter`, `invalid_query_parameter`",
    ),
    (
        "401",
        |t| t.token,
        "`authentication_required`, `invalid_token`, `token_expired`, `session_revoked`, \
         `session_expired`",
    ),
    (
        "404",
        |t| t.resource,
        "`not_found`: nothing has this id, or the caller may not see it",
    ),
    (
        "409",
        |t| t.writes,
        "`conflict`: the change collides with existing data",
    ),
    (
        "413",
        |t| t.body,
        "`payload_too_large`: the body is over `BODY_LIMIT_BYTES`",
    ),
    (
        "415",
        |t| t.json_body,
        "`unsupported_media_type`: the body is not sent as application/json",
    ),
    (
        "422",
        |t| t.json_body,
        "`invalid_body`: a field is missing, unknown or of the wrong type",
    ),
    (
        "500",
        |_| true,
        "`internal`: something failed on our side (the cause is logged, never sent)",
    ),
    (
        "503",
        |_| true,
        "`unavailable` (the database cannot be reached), `timeout` (over `REQUEST_TIMEOUT`)",
    ),
];

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                (&mut item.get, false),
                (&mut item.put, true),
                (&mut item.post, true),
                (&mut item.patch, true),
                (&mut item.delete, false),
            ];
            for (op, writes) in operations {
                if let Some(op) = op.as_mut() {
                    add_shared(path, op, writes);
                }
            }
        }
        TextPattern::apply(openapi);
    }
}

/// The extension an operation carries when it reads its body as bytes, leniently (the KakaoTalk
/// skill): no `415` or `422` for it.
pub const LENIENT_BODY: &str = "x-lenient-body";

fn add_shared(path: &str, op: &mut Operation, writes: bool) {
    let body = op.request_body.is_some();
    let lenient = op
        .extensions
        .as_ref()
        .is_some_and(|e| e.contains_key(LENIENT_BODY));
    let json_body = !lenient
        && match &op.request_body {
            Some(RefOr::T(b)) => b.content.keys().any(|c| c.contains("json")),
            Some(RefOr::Ref(_)) => true,
            None => false,
        };
    let takes = Takes {
        parameters: op.parameters.as_ref().is_some_and(|p| !p.is_empty()),
        json_body,
        body,
        token: op.security.as_ref().is_some_and(|reqs| {
            serde_json::to_value(reqs)
                .ok()
                .is_some_and(|v| v.to_string().contains("\"bearer\""))
        }),
        resource: path.contains('{'),
        writes,
    };
    for (status, applies, description) in SHARED {
        if applies(&takes) && !op.responses.responses.contains_key(*status) {
            op.responses
                .responses
                .insert((*status).to_owned(), error_response(description));
        }
    }
}

/// An error answer: a JSON `ErrorBody`.
pub fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

/// Sets the text rule as the `pattern` of every string a client sends that has no format, enum
/// or pattern of its own: request bodies (and every schema they refer to) and parameters.
struct TextPattern;

impl TextPattern {
    fn apply(openapi: &mut OpenApi) {
        let mut referenced = BTreeSet::new();
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for p in op.parameters.iter_mut().flatten() {
                    if let RefOr::T(p) = p
                        && matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query)
                        && let Some(schema) = p.schema.as_mut()
                    {
                        let name = p.name.clone();
                        patch_schema(schema, Some(&name), &mut referenced);
                    }
                }
                if let Some(RefOr::T(body)) = op.request_body.as_mut() {
                    patch_body(body, &mut referenced);
                }
            }
        }
        // Follow references until every schema a request can reach has been patched once.
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .insert(JSON_TEXT.to_owned(), RefOr::T(json_text()));
        let mut done: BTreeSet<String> = BTreeSet::new();
        while let Some(name) = referenced.iter().find(|n| !done.contains(*n)).cloned() {
            done.insert(name.clone());
            if let Some(schema) = components.schemas.get_mut(&name) {
                patch_schema(schema, None, &mut referenced);
            }
        }
    }
}

fn patch_body(body: &mut RequestBody, referenced: &mut BTreeSet<String>) {
    for content in body.content.values_mut() {
        if let RefOr::T(content) = content
            && let Some(schema) = content.schema.as_mut()
        {
            patch_schema(schema, None, referenced);
        }
    }
}

/// Patches the strings of `schema`, `field` being the name it has in its parent object.
fn patch_schema(
    schema: &mut RefOr<Schema>,
    field: Option<&str>,
    referenced: &mut BTreeSet<String>,
) {
    match schema {
        RefOr::Ref(r) => {
            if let Some(name) = r.ref_location.strip_prefix("#/components/schemas/") {
                referenced.insert(name.to_owned());
            }
        }
        RefOr::T(Schema::Object(o)) => patch_object(o, field, referenced),
        RefOr::T(Schema::Array(a)) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                patch_schema(items, field, referenced);
            }
        }
        RefOr::T(Schema::OneOf(s)) => {
            for item in &mut s.items {
                patch_schema(item, field, referenced);
            }
        }
        RefOr::T(Schema::AllOf(s)) => {
            for item in &mut s.items {
                patch_schema(item, field, referenced);
            }
        }
        RefOr::T(Schema::AnyOf(s)) => {
            for item in &mut s.items {
                patch_schema(item, field, referenced);
            }
        }
        RefOr::T(_) => {}
    }
}

fn is_string(t: &SchemaType) -> bool {
    match t {
        SchemaType::Type(Type::String) => true,
        SchemaType::Array(types) => types.contains(&Type::String),
        _ => false,
    }
}

/// The schema of free-form JSON a client sends (the KakaoTalk payload, the webhook's extras).
const JSON_TEXT: &str = "JsonText";

fn json_text_ref() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(JSON_TEXT))
}

fn key_schema() -> Schema {
    let mut key = Object::with_type(Type::String);
    key.pattern = Some(text::pattern(false, 0));
    Schema::Object(key)
}

/// Any JSON value whose strings and keys, at any depth, keep the text rule.
fn json_text() -> Schema {
    let mut string = Object::with_type(Type::String);
    string.pattern = Some(text::pattern(false, 0));
    let scalar = Object::with_type(SchemaType::Array(vec![
        Type::Number,
        Type::Boolean,
        Type::Null,
    ]));
    let array = utoipa::openapi::schema::ArrayBuilder::new()
        .items(json_text_ref())
        .build();
    let mut object = Object::with_type(Type::Object);
    free_form_as_text(&mut object);
    let mut any = utoipa::openapi::schema::AnyOf::new();
    any.description =
        Some("Any JSON value whose strings and keys, at any depth, keep the text rule.".to_owned());
    any.items = vec![
        RefOr::T(Schema::Object(string)),
        RefOr::T(Schema::Object(scalar)),
        RefOr::T(Schema::Array(array)),
        RefOr::T(Schema::Object(object)),
    ];
    Schema::AnyOf(any)
}

/// An object that takes properties beyond its own: their names and values keep the rule too.
fn free_form_as_text(o: &mut Object) {
    o.property_names = Some(Box::new(key_schema()));
    o.additional_properties = Some(Box::new(AdditionalProperties::RefOr(json_text_ref())));
}

fn patch_object(o: &mut Object, field: Option<&str>, referenced: &mut BTreeSet<String>) {
    let object = matches!(o.schema_type, SchemaType::Type(Type::Object));
    let open = match o.additional_properties.as_deref() {
        None => true,
        Some(AdditionalProperties::FreeForm(free)) => *free,
        Some(AdditionalProperties::RefOr(_)) => false,
    };
    if object && open {
        free_form_as_text(o);
        referenced.insert(JSON_TEXT.to_owned());
    }
    if is_string(&o.schema_type)
        && o.format.is_none()
        && o.enum_values.is_none()
        && o.pattern.is_none()
    {
        let multiline = field.is_some_and(text::is_multiline);
        o.pattern = Some(text::pattern(multiline, o.min_length.unwrap_or(0)));
    }
    let names: Vec<String> = o.properties.keys().cloned().collect();
    for name in names {
        if let Some(p) = o.properties.get_mut(&name) {
            patch_schema(p, Some(&name), referenced);
        }
    }
}

#[cfg(test)]
mod shared_codes {
    use super::SHARED;
    use crate::http::error::ErrorCode;

    /// The shared answers name their codes in prose; each must be a code of the one table in
    /// `error.rs`, under the status it has there.
    #[test]
    fn every_shared_answer_names_real_codes_with_their_status() {
        for (status, _, description) in SHARED {
            let named: Vec<&str> = description
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                .collect();
            assert!(
                !named.is_empty(),
                "the shared {status} answer names no code"
            );
            for name in named {
                let code = ErrorCode::ALL.iter().find(|c| c.as_str() == name);
                let Some(code) = code else {
                    panic!("the shared {status} answer names {name}, which is not a code");
                };
                assert_eq!(code.status().as_str(), *status, "{name} has another status");
            }
        }
    }
}
