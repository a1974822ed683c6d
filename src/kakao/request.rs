//! Reading a skill request (Kakao i Open Builder's skill API; the fields we use are listed in `docs/KAKAO.md`) leniently, and deciding
//! what the user asked for.
//!
//! The payload is read as untyped JSON and each field is picked by path: a field that is missing
//! or of another type than documented is simply absent, unknown fields are ignored, and nothing
//! here can fail. What to answer comes from, in order: the block's name (`intent.name`, the same
//! as `userRequest.block.name`) or the skill's name (`action.name`) when it is one of ours
//! (docs/KAKAO.md lists them), then Korean keywords in `userRequest.utterance`.

use std::collections::HashMap;

use serde_json::Value;
use uuid::Uuid;

/// What a skill request carries that we use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SkillRequest {
    pub bot_id: Option<String>,
    pub block_name: Option<String>,
    pub action_name: Option<String>,
    pub utterance: String,
    /// `userRequest.user.id`: the bot-scoped botUserKey, at most 70 characters.
    pub user_key: Option<String>,
    /// `action.params`, values as given (system entities may be JSON in a string).
    pub params: HashMap<String, String>,
    /// `action.detailParams[k].origin`: what the user typed for the parameter.
    pub origins: HashMap<String, String>,
}

fn text_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, key| v.get(key))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A parameter value as text: strings as they are, numbers and booleans printed, other JSON
/// left out.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

impl SkillRequest {
    pub fn from_json(v: &Value) -> SkillRequest {
        let mut params = HashMap::new();
        if let Some(map) = v.pointer("/action/params").and_then(Value::as_object) {
            for (k, value) in map {
                if let Some(s) = scalar(value) {
                    params.insert(k.clone(), s);
                }
            }
        }
        let mut origins = HashMap::new();
        if let Some(map) = v.pointer("/action/detailParams").and_then(Value::as_object) {
            for (k, detail) in map {
                if let Some(s) = detail.get("origin").and_then(scalar) {
                    origins.insert(k.clone(), s);
                }
                // A block that sends only detailParams still has its values read.
                if let Some(s) = detail.get("value").and_then(scalar) {
                    params.entry(k.clone()).or_insert(s);
                }
            }
        }
        let user_key = text_at(v, &["userRequest", "user", "id"])
            .filter(|id| id.chars().count() <= 70)
            .map(str::to_owned);
        SkillRequest {
            bot_id: text_at(v, &["bot", "id"]).map(str::to_owned),
            block_name: text_at(v, &["intent", "name"])
                .or_else(|| text_at(v, &["userRequest", "block", "name"]))
                .map(str::to_owned),
            action_name: text_at(v, &["action", "name"]).map(str::to_owned),
            utterance: text_at(v, &["userRequest", "utterance"])
                .unwrap_or_default()
                .chars()
                .take(1000)
                .collect(),
            user_key,
            params,
            origins,
        }
    }

    /// A parameter's plain value. A system entity's JSON string gives its `value` (sys.date and
    /// the like) or its `amount` (sys.number); anything else is taken as it is.
    pub fn param(&self, name: &str) -> Option<String> {
        let raw = self.params.get(name)?;
        if raw.starts_with('{')
            && let Ok(Value::Object(o)) = serde_json::from_str::<Value>(raw)
        {
            return ["value", "amount"]
                .iter()
                .find_map(|k| o.get(*k).and_then(scalar));
        }
        Some(raw.clone())
    }

    /// The first of these parameters that has a value.
    fn first_param(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| self.param(n))
    }

    /// A link code from the `code` parameter: the digits the user typed (`detailParams` origin,
    /// which keeps leading zeros a sys.number `amount` loses), else the value.
    fn code_param(&self) -> Option<String> {
        ["code", "link_code", "sys_number"].iter().find_map(|n| {
            self.origins
                .get(*n)
                .and_then(|o| link_code_in(o))
                .or_else(|| self.param(n).and_then(|v| link_code_in(&v)))
        })
    }
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help,
    /// Search products; `None` when nothing to search for was given.
    Search(Option<String>),
    OpenRaffles,
    /// One raffle's state; `None` when no raffle id was given.
    Raffle(Option<Uuid>),
    MyEntries,
    /// Link with a code; `None` when the code is missing or not eight digits.
    Link(Option<String>),
    Unlink,
}

impl Command {
    /// The command's name for logs, without what the user typed (codes, search text).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Help => "help",
            Command::Search(_) => "search",
            Command::OpenRaffles => "open_raffles",
            Command::Raffle(_) => "raffle",
            Command::MyEntries => "my_entries",
            Command::Link(_) => "link",
            Command::Unlink => "unlink",
        }
    }
}

/// Link codes are eight digits: 10⁸ codes, so that guessing within the global failure budget
/// is hopeless (docs/KAKAO.md).
pub const LINK_CODE_DIGITS: usize = 8;

/// The eight-digit code in `text`, if it has exactly one run of eight digits.
pub fn link_code_in(text: &str) -> Option<String> {
    let runs: Vec<String> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    match runs.as_slice() {
        [one] if one.len() == LINK_CODE_DIGITS => Some(one.clone()),
        // A sys.number amount of a code with leading zeros ("01234567" → 1234567).
        [one] if one.len() < LINK_CODE_DIGITS && text.trim() == one.as_str() => {
            Some(format!("{one:0>width$}", width = LINK_CODE_DIGITS))
        }
        _ => None,
    }
}

fn uuid_in(text: &str) -> Option<Uuid> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .find_map(|w| Uuid::parse_str(w).ok())
}

/// Lower case without spaces: "내 응모" and "내응모" are one name.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Clone, Copy)]
enum Kind {
    Help,
    Search,
    OpenRaffles,
    Raffle,
    MyEntries,
    Link,
    Unlink,
}

/// Block and skill names (compared without spaces, `_` or `-`, in lower case); docs/KAKAO.md.
const NAMES: &[(&str, Kind)] = &[
    ("truffle.help", Kind::Help),
    ("도움말", Kind::Help),
    ("truffle.search", Kind::Search),
    ("상품검색", Kind::Search),
    ("truffle.raffles", Kind::OpenRaffles),
    ("진행중인래플", Kind::OpenRaffles),
    ("truffle.raffle", Kind::Raffle),
    ("래플상세", Kind::Raffle),
    ("truffle.myentries", Kind::MyEntries),
    ("내응모", Kind::MyEntries),
    ("truffle.link", Kind::Link),
    ("계정연결", Kind::Link),
    ("truffle.unlink", Kind::Unlink),
    ("연결해제", Kind::Unlink),
];

fn named(name: &str) -> Option<Kind> {
    let name = squash(name);
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// Leading words that say what the rest of the utterance is.
const SEARCH_WORDS: &[&str] = &["상품 검색", "상품검색", "검색", "찾기", "찾아줘"];

impl SkillRequest {
    pub fn command(&self) -> Command {
        let by_name = self
            .block_name
            .as_deref()
            .and_then(named)
            .or_else(|| self.action_name.as_deref().and_then(named));
        match by_name {
            Some(kind) => self.with_params(kind),
            None => self.by_keywords(),
        }
    }

    /// A named block's command, its parameters read from `action.params`, else the utterance.
    fn with_params(&self, kind: Kind) -> Command {
        match kind {
            Kind::Help => Command::Help,
            Kind::OpenRaffles => Command::OpenRaffles,
            Kind::MyEntries => Command::MyEntries,
            Kind::Unlink => Command::Unlink,
            Kind::Search => Command::Search(
                self.first_param(&["query", "keyword", "sys_text"])
                    .or_else(|| search_text(&self.utterance)),
            ),
            Kind::Raffle => Command::Raffle(
                self.first_param(&["raffle_id", "raffle"])
                    .and_then(|p| uuid_in(&p))
                    .or_else(|| uuid_in(&self.utterance)),
            ),
            Kind::Link => {
                Command::Link(self.code_param().or_else(|| link_code_in(&self.utterance)))
            }
        }
    }

    fn by_keywords(&self) -> Command {
        let text = self.utterance.trim();
        let flat = squash(text);
        if flat.is_empty() {
            return Command::Help;
        }
        if flat.starts_with("연결해제") || flat.starts_with("계정연결해제") {
            return Command::Unlink;
        }
        if flat.starts_with("연결") || flat.starts_with("계정연결") {
            return Command::Link(link_code_in(text));
        }
        if flat.chars().all(|c| c.is_ascii_digit()) && flat.len() == LINK_CODE_DIGITS {
            return Command::Link(Some(flat));
        }
        if let Some(rest) = strip_search_word(text) {
            return Command::Search(Some(rest).filter(|r| !r.is_empty()));
        }
        if [
            "내응모",
            "응모내역",
            "응모결과",
            "당첨확인",
            "당첨결과",
            "내래플",
        ]
        .iter()
        .any(|w| flat.starts_with(w))
        {
            return Command::MyEntries;
        }
        if flat.starts_with("래플") || flat.starts_with("raffle") {
            return match uuid_in(text) {
                Some(id) => Command::Raffle(Some(id)),
                None => Command::OpenRaffles,
            };
        }
        if ["진행중", "응모가능", "마감임박", "오픈래플"]
            .iter()
            .any(|w| flat.starts_with(w))
        {
            return Command::OpenRaffles;
        }
        if let Some(id) = uuid_in(text) {
            return Command::Raffle(Some(id));
        }
        if ["도움말", "도움", "처음", "시작", "안녕", "help", "메뉴"]
            .iter()
            .any(|w| flat.starts_with(w))
        {
            return Command::Help;
        }
        // Anything else is taken as something to look for.
        Command::Search(Some(text.to_owned()))
    }
}

/// The utterance after a leading search word ("검색 덩크" → "덩크"), if it has one.
fn strip_search_word(text: &str) -> Option<String> {
    SEARCH_WORDS.iter().find_map(|w| {
        text.strip_prefix(w)
            .map(|rest| rest.trim_start_matches([':', ' ']).trim().to_owned())
    })
}

/// What to search for in the utterance of a search block: the text after a search word, or the
/// whole utterance when it is not just the block's own trigger phrase.
fn search_text(utterance: &str) -> Option<String> {
    let text = utterance.trim();
    match strip_search_word(text) {
        Some(rest) => Some(rest).filter(|r| !r.is_empty()),
        None if !text.is_empty() && named(text).is_none() => Some(text.to_owned()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(utterance: &str) -> SkillRequest {
        SkillRequest::from_json(&json!({"userRequest": {"utterance": utterance}}))
    }

    #[test]
    fn korean_keywords_route_the_utterance() {
        assert_eq!(
            req("검색 덩크").command(),
            Command::Search(Some("덩크".into()))
        );
        assert_eq!(
            req("검색:덩크 로우").command(),
            Command::Search(Some("덩크 로우".into()))
        );
        assert_eq!(req("검색").command(), Command::Search(None));
        assert_eq!(
            req("상품 검색 삼바").command(),
            Command::Search(Some("삼바".into()))
        );
        assert_eq!(req("래플").command(), Command::OpenRaffles);
        assert_eq!(req("진행 중인 래플").command(), Command::OpenRaffles);
        let id = Uuid::now_v7();
        assert_eq!(
            req(&format!("래플 {id}")).command(),
            Command::Raffle(Some(id))
        );
        assert_eq!(req("내 응모").command(), Command::MyEntries);
        assert_eq!(req("내응모").command(), Command::MyEntries);
        assert_eq!(
            req("연결 12345678").command(),
            Command::Link(Some("12345678".into()))
        );
        assert_eq!(
            req("12345678").command(),
            Command::Link(Some("12345678".into()))
        );
        assert_eq!(req("연결 12345").command(), Command::Link(None));
        assert_eq!(req("연결 해제").command(), Command::Unlink);
        assert_eq!(req("도움말").command(), Command::Help);
        assert_eq!(req("").command(), Command::Help);
        assert_eq!(
            req("스피드캣").command(),
            Command::Search(Some("스피드캣".into()))
        );
    }

    #[test]
    fn block_names_win_over_the_utterance_and_params_are_read() {
        let v = json!({
            "intent": {"id": "b1", "name": "상품 검색"},
            "userRequest": {"utterance": "상품 검색"},
            "action": {"name": "truffle", "params": {"query": "덩크"}}
        });
        assert_eq!(
            SkillRequest::from_json(&v).command(),
            Command::Search(Some("덩크".into()))
        );
        // No param: the block's trigger phrase itself is not searched for.
        let v = json!({"intent": {"name": "상품 검색"}, "userRequest": {"utterance": "상품 검색"}});
        assert_eq!(SkillRequest::from_json(&v).command(), Command::Search(None));
        // The skill's name routes when the block's does not.
        let v = json!({"intent": {"name": "폴백 블록"}, "action": {"name": "truffle.raffles"},
                       "userRequest": {"utterance": "아무 말"}});
        assert_eq!(SkillRequest::from_json(&v).command(), Command::OpenRaffles);
    }

    #[test]
    fn system_entity_params_given_as_json_strings() {
        let v = json!({
            "intent": {"name": "계정 연결"},
            "userRequest": {"utterance": "코드는 01234567"},
            "action": {
                "params": {"code": "{\"amount\": 1234567, \"unit\": null}",
                           "sys_date": "{\"value\":\"2026-11-21\",\"userValue\":null,\"dateTag\":null,\"dateHeadword\":null,\"dateTimeTag\":null}"},
                "detailParams": {
                    "code": {"origin": "01234567", "value": "{\"amount\": 1234567, \"unit\": null}", "groupName": ""},
                    "sys_date": {"origin": "오늘", "value": "{\"value\":\"2026-11-21\"}", "groupName": ""}
                }
            }
        });
        let r = SkillRequest::from_json(&v);
        assert_eq!(r.param("code").as_deref(), Some("1234567"));
        assert_eq!(r.param("sys_date").as_deref(), Some("2026-11-21"));
        // The typed digits keep the leading zero the number lost.
        assert_eq!(r.command(), Command::Link(Some("01234567".into())));
        // Without the origin, the amount is padded back to eight digits.
        let v = json!({"intent": {"name": "truffle.link"},
                       "action": {"params": {"code": "{\"amount\": 1234567, \"unit\": null}"}}});
        assert_eq!(
            SkillRequest::from_json(&v).command(),
            Command::Link(Some("01234567".into()))
        );
    }

    #[test]
    fn wrong_types_are_absent_not_errors() {
        let v = json!({
            "bot": {"id": 42},
            "intent": ["not", "an", "object"],
            "userRequest": {"utterance": 7, "user": {"id": {"nested": true}}},
            "action": {"params": {"query": ["x"], "n": 3}, "detailParams": "nope", "clientExtra": null}
        });
        let r = SkillRequest::from_json(&v);
        assert_eq!(r.bot_id, None);
        assert_eq!(r.user_key, None);
        assert_eq!(r.utterance, "");
        assert_eq!(r.param("n").as_deref(), Some("3"));
        assert_eq!(r.param("query"), None);
        assert_eq!(r.command(), Command::Help);
        assert_eq!(
            SkillRequest::from_json(&json!("text")),
            SkillRequest::default()
        );
        // A user id longer than Kakao's 70 characters is not one.
        let v = json!({"userRequest": {"user": {"id": "x".repeat(71)}}});
        assert_eq!(SkillRequest::from_json(&v).user_key, None);
    }
}
