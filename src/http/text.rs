//! The one rule for text from clients, applied at the boundary before anything is parsed into
//! types: JSON bodies (every string and key, at any depth), path and query parameters, chat
//! socket frames and the KakaoTalk skill payload all go through [`check_json`] or [`check`].
//!
//! Refused everywhere: the C0 controls (U+0000–U+001F, NUL included), DEL and the C1 controls
//! (U+007F–U+009F), the line and paragraph separators (U+2028, U+2029), and the bidi embeddings,
//! overrides and isolates (U+202A–U+202E, U+2066–U+2069), which make text display in another
//! order than it is stored. Fields named in [`MULTILINE_FIELDS`] may also hold `\n`, `\r` and
//! `\t`. A refusal is `400 validation_failed` naming the field, e.g. `delivery_address.address`
//! or `tags[2]`.
//!
//! The same rule is the `pattern` of every free-text string in the OpenAPI document
//! ([`pattern`]), so what the document calls valid is what the service accepts.

use serde_json::Value;

use super::error::ApiError;

/// The JSON fields, by name at any depth, whose text may span lines: a product's description,
/// a chat message's body, and what a KakaoTalk user typed.
pub const MULTILINE_FIELDS: &[&str] = &["description", "body", "utterance"];

/// What a refusal says after the field's name.
pub const REASON: &str = "must not contain control characters, line separators or bidi controls.";

/// Whether `c` is refused in a field (`multiline`: one of [`MULTILINE_FIELDS`]).
pub fn is_refused(c: char, multiline: bool) -> bool {
    match c {
        '\n' | '\r' | '\t' => !multiline,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{2028}' | '\u{2029}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// Whether the field `name` (the last key of its path) may hold line breaks.
pub fn is_multiline(name: &str) -> bool {
    MULTILINE_FIELDS.contains(&name)
}

/// Checks a named value (a path or query parameter, a header), the name included.
pub fn check(name: &str, value: &str) -> Result<(), ApiError> {
    let mut path = FieldPath::root(name);
    check_str(&mut path, name, false)?;
    check_str(&mut path, value, is_multiline(name))
}

/// Checks every string and every key of a JSON document.
pub fn check_json(value: &Value) -> Result<(), ApiError> {
    walk(&mut FieldPath::default(), None, value)
}

fn check_str(path: &mut FieldPath, value: &str, multiline: bool) -> Result<(), ApiError> {
    if value.chars().any(|c| is_refused(c, multiline)) {
        return Err(ApiError::validation(&path.render(), REASON));
    }
    Ok(())
}

fn walk(path: &mut FieldPath, key: Option<&str>, value: &Value) -> Result<(), ApiError> {
    match value {
        Value::String(s) => check_str(path, s, key.is_some_and(is_multiline)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Segment::Index(i));
                walk(path, key, item)?;
                path.pop();
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, v) in map {
                path.push(Segment::Key(k.clone()));
                check_str(path, k, false)?;
                walk(path, Some(k), v)?;
                path.pop();
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

enum Segment {
    Key(String),
    Index(usize),
}

/// Where a value sits in a document: `delivery_address.phone`, `tags[1]`.
#[derive(Default)]
struct FieldPath(Vec<Segment>);

impl FieldPath {
    fn root(name: &str) -> FieldPath {
        FieldPath(vec![Segment::Key(name.to_owned())])
    }

    fn push(&mut self, s: Segment) {
        self.0.push(s);
    }

    fn pop(&mut self) {
        self.0.pop();
    }

    /// The path as people read it; refused characters in keys are shown as `\u{…}` escapes.
    fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.0 {
            match s {
                Segment::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    for c in k.chars().take(100) {
                        if is_refused(c, false) {
                            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
                        } else {
                            out.push(c);
                        }
                    }
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if out.is_empty() {
            out.push_str("body");
        }
        out
    }
}

/// The refused characters as a regular-expression class body (ECMA-262, Python and Rust agree on
/// `\uXXXX`); `multiline` leaves out `\t`, `\n` and `\r`.
fn refused_class(multiline: bool) -> &'static str {
    if multiline {
        r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069"
    } else {
        r"\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069"
    }
}

/// The white space that trimming removes (Unicode `White_Space`), less what is refused anyway.
const SPACE_CLASS: &str = r"\t\n\r\u0020\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000";

/// One character the text rule lets through, as a regular-expression class (for patterns that
/// add their own rules, such as the password policy's).
pub fn allowed_class(multiline: bool) -> String {
    format!("[^{}]", refused_class(multiline))
}

/// The text rule as a JSON Schema `pattern`. `min_visible` characters that are not white space
/// must be present: free text is trimmed before its length is checked, so a field of at least
/// one character refuses a blank one.
pub fn pattern(multiline: bool, min_visible: usize) -> String {
    let allowed = allowed_class(multiline);
    match min_visible {
        0 => format!("^{allowed}*$"),
        1 => format!(
            "^{allowed}*[^{}{SPACE_CLASS}]{allowed}*$",
            refused_class(multiline)
        ),
        n => format!(
            "^{allowed}*(?:[^{}{SPACE_CLASS}]{allowed}*){{{n}}}$",
            refused_class(multiline)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused_field(v: Value) -> Option<String> {
        check_json(&v).err().map(|e| e.message().to_owned())
    }

    #[test]
    fn controls_separators_and_bidi_controls_are_refused_with_the_field_named() {
        for bad in [
            "\u{0}", "\u{1}", "\u{1b}", "\u{7f}", "\u{85}", "\u{9f}", "\u{2028}", "\u{2029}",
            "\u{202a}", "\u{202e}", "\u{2066}", "\u{2069}", "\n", "\t", "\r",
        ] {
            let msg = refused_field(json!({"email": format!("a{bad}b@example.com")}))
                .unwrap_or_else(|| panic!("{bad:?} passed"));
            assert!(msg.starts_with("email: "), "{msg}");
        }
        for fine in [
            "한",
            "한국어 text",
            "\u{200f}",
            "\u{feff}x",
            "emoji 🎉",
            "ㅎㅏㄴ",
        ] {
            assert_eq!(refused_field(json!({"name": fine})), None, "{fine:?}");
        }
    }

    #[test]
    fn paths_name_nested_fields_array_items_and_keys() {
        let msg = refused_field(json!({"delivery_address": {"recipient": "x\u{0}"}})).unwrap();
        assert!(msg.starts_with("delivery_address.recipient: "), "{msg}");
        let msg = refused_field(json!({"tags": ["ok", "bad\u{202e}"]})).unwrap();
        assert!(msg.starts_with("tags[1]: "), "{msg}");
        let msg = refused_field(json!({"a\u{0}b": 1})).unwrap();
        assert!(msg.starts_with("a\\u{0000}b: "), "{msg}");
        assert!(!msg.contains('\u{0}'));
        let msg = refused_field(json!(["\u{1}"])).unwrap();
        assert!(msg.starts_with("[0]: "), "{msg}");
    }

    #[test]
    fn multiline_fields_take_newlines_and_tabs_only() {
        assert_eq!(
            refused_field(json!({"description": "줄 하나\n줄 둘\r\n\t끝"})),
            None
        );
        assert_eq!(refused_field(json!({"body": "a\nb"})), None);
        assert!(refused_field(json!({"description": "a\u{0}b"})).is_some());
        assert!(refused_field(json!({"body": "a\u{2028}b"})).is_some());
        assert!(refused_field(json!({"name": "a\nb"})).is_some());
        assert!(check("q", "a\nb").is_err());
        assert!(check("q", "덩크").is_ok());
    }

    #[test]
    fn the_pattern_is_the_rule() {
        let single = regex::Regex::new(&pattern(false, 0)).unwrap();
        let multi = regex::Regex::new(&pattern(true, 0)).unwrap();
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            assert_eq!(single.is_match(&s), !is_refused(c, false), "{c:?}");
            assert_eq!(multi.is_match(&s), !is_refused(c, true), "{c:?}");
        }
        let visible = regex::Regex::new(&pattern(false, 1)).unwrap();
        for blank in ["", " ", "\u{3000}", "\u{a0} \u{2009}"] {
            assert!(!visible.is_match(blank), "{blank:?}");
            assert!(blank.trim().is_empty());
        }
        assert!(visible.is_match(" 한 "));
        let two = regex::Regex::new(&pattern(false, 2)).unwrap();
        assert!(!two.is_match(" a "));
        assert!(two.is_match(" a b "));
        assert!(two.is_match("ab"));
        // Every character the pattern calls white space is what trimming removes, and back.
        let space = regex::Regex::new(&format!("^[{SPACE_CLASS}]$")).unwrap();
        for c in (0u32..0x11000).filter_map(char::from_u32) {
            if !is_refused(c, true) {
                assert_eq!(space.is_match(&c.to_string()), c.is_whitespace(), "{c:?}");
            }
        }
    }
}
