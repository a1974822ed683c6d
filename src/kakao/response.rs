//! The skill response format, version "2.0" (Kakao i Open Builder's skill API; the fields we use are listed in `docs/KAKAO.md`), with
//! every limit Kakao states enforced where a value is built, so that no answer is refused for
//! being one character or one card too long.

use serde::Serialize;

/// Components in `template.outputs`.
pub const MAX_OUTPUTS: usize = 3;
/// `template.quickReplies`.
pub const MAX_QUICK_REPLIES: usize = 10;
/// Items of a carousel of basicCards.
pub const MAX_CAROUSEL_CARDS: usize = 10;
/// listCards in a carousel.
pub const MAX_CAROUSEL_LIST_CARDS: usize = 5;
/// Items of a listCard on its own.
pub const MAX_LIST_ITEMS: usize = 5;
/// Items of a listCard inside a carousel.
pub const MAX_LIST_ITEMS_IN_CAROUSEL: usize = 4;
/// Buttons of a card (vertical layout).
pub const MAX_BUTTONS: usize = 3;
/// `simpleText.text` (over 500 is collapsed behind "전체 보기").
pub const SIMPLE_TEXT_MAX: usize = 1000;
pub const CARD_TITLE_MAX: usize = 50;
/// basicCard description on its own and in a carousel.
pub const CARD_DESCRIPTION_MAX: usize = 230;
pub const BUTTON_LABEL_MAX: usize = 14;
/// Not stated by Kakao; the third-party figure, the same as button labels.
pub const QUICK_REPLY_LABEL_MAX: usize = 14;
/// listCard header and item texts: not stated by Kakao; kept to what one line shows.
pub const LIST_TITLE_MAX: usize = 50;
pub const LIST_DESCRIPTION_MAX: usize = 50;
pub const ALT_TEXT_MAX: usize = 50;

/// At most `max` characters (not bytes: Hangul is three bytes in UTF-8), ending in "…" when cut.
pub fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SkillResponse {
    pub version: &'static str,
    pub template: Template,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub outputs: Vec<Output>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<QuickReply>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum Output {
    SimpleText { text: String },
    BasicCard(BasicCard),
    ListCard(ListCard),
    Carousel(Carousel),
}

impl Output {
    pub fn text(text: &str) -> Output {
        Output::SimpleText {
            text: clip(text, SIMPLE_TEXT_MAX),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Carousel {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub items: Vec<CarouselItem>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum CarouselItem {
    BasicCard(BasicCard),
    ListCard(ListCard),
}

impl Carousel {
    /// basicCards, at most ten.
    pub fn basic_cards(cards: Vec<BasicCard>) -> Carousel {
        Carousel {
            kind: "basicCard",
            items: cards
                .into_iter()
                .take(MAX_CAROUSEL_CARDS)
                .map(CarouselItem::BasicCard)
                .collect(),
        }
    }

    /// listCards, at most five, each cut to four items.
    pub fn list_cards(cards: Vec<ListCard>) -> Carousel {
        Carousel {
            kind: "listCard",
            items: cards
                .into_iter()
                .take(MAX_CAROUSEL_LIST_CARDS)
                .map(|mut c| {
                    c.items.truncate(MAX_LIST_ITEMS_IN_CAROUSEL);
                    CarouselItem::ListCard(c)
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BasicCard {
    pub title: String,
    pub description: String,
    pub thumbnail: Thumbnail,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
}

impl BasicCard {
    pub fn new(title: &str, description: &str, thumbnail: Thumbnail, buttons: Vec<Button>) -> Self {
        BasicCard {
            title: clip(title, CARD_TITLE_MAX),
            description: clip(description, CARD_DESCRIPTION_MAX),
            thumbnail,
            buttons: buttons.into_iter().take(MAX_BUTTONS).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Thumbnail {
    pub image_url: String,
    pub alt_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
    /// Every card's image has the same ratio, as a carousel requires.
    pub fixed_ratio: bool,
}

impl Thumbnail {
    pub fn new(image_url: &str, alt_text: &str, link: Option<String>) -> Self {
        Thumbnail {
            image_url: image_url.to_owned(),
            alt_text: clip(alt_text, ALT_TEXT_MAX),
            link: link.map(|web| Link { web }),
            fixed_ratio: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Link {
    pub web: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Button {
    pub label: String,
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_link_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_text: Option<String>,
}

impl Button {
    pub fn web(label: &str, url: String) -> Button {
        Button {
            label: clip(label, BUTTON_LABEL_MAX),
            action: "webLink",
            web_link_url: Some(url),
            message_text: None,
        }
    }

    /// Sends `text` as if the user typed it (it comes back as the utterance).
    pub fn message(label: &str, text: &str) -> Button {
        Button {
            label: clip(label, BUTTON_LABEL_MAX),
            action: "message",
            web_link_url: None,
            message_text: Some(clip(text, SIMPLE_TEXT_MAX)),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListCard {
    pub header: ListHeader,
    pub items: Vec<ListItem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
}

impl ListCard {
    pub fn new(header: &str, items: Vec<ListItem>, buttons: Vec<Button>) -> Self {
        ListCard {
            header: ListHeader {
                title: clip(header, LIST_TITLE_MAX),
            },
            items: items.into_iter().take(MAX_LIST_ITEMS).collect(),
            buttons: buttons.into_iter().take(MAX_BUTTONS).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ListHeader {
    pub title: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListItem {
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
}

impl ListItem {
    /// An item that sends `message` when tapped (or nothing, without one).
    pub fn new(title: &str, description: &str, message: Option<String>) -> Self {
        ListItem {
            title: clip(title, LIST_TITLE_MAX),
            description: clip(description, LIST_DESCRIPTION_MAX),
            action: message.as_ref().map(|_| "message"),
            message_text: message,
            link: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QuickReply {
    pub label: String,
    pub action: &'static str,
    pub message_text: String,
}

impl QuickReply {
    /// A quick reply that sends its own label back as the utterance.
    pub fn say(label: &str) -> QuickReply {
        QuickReply {
            label: clip(label, QUICK_REPLY_LABEL_MAX),
            action: "message",
            message_text: label.to_owned(),
        }
    }
}

impl SkillResponse {
    /// At most three outputs and ten quick replies.
    pub fn new(mut outputs: Vec<Output>, mut quick_replies: Vec<QuickReply>) -> Self {
        outputs.truncate(MAX_OUTPUTS);
        if outputs.is_empty() {
            outputs.push(Output::text("…"));
        }
        quick_replies.truncate(MAX_QUICK_REPLIES);
        SkillResponse {
            version: "2.0",
            template: Template {
                outputs,
                quick_replies,
            },
        }
    }

    pub fn text(text: &str, quick_replies: Vec<QuickReply>) -> Self {
        Self::new(vec![Output::text(text)], quick_replies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_counts_characters_and_never_splits_one() {
        assert_eq!(clip("나이키 덩크", 10), "나이키 덩크");
        let long = "가".repeat(60);
        let cut = clip(&long, 50);
        assert_eq!(cut.chars().count(), 50);
        assert!(cut.ends_with('…'));
        // Emoji and combining marks are still whole characters (Rust strings cannot split one).
        let cut = clip(&"👟".repeat(20), 14);
        assert_eq!(cut.chars().count(), 14);
        assert_eq!(clip("  덩크 로우  ", 50), "덩크 로우");
        // No space left dangling before the ellipsis.
        assert_eq!(clip("덩크 로우 레트로", 4), "덩크…");
    }

    #[test]
    fn builders_keep_kakaos_limits() {
        let thumb = Thumbnail::new("https://x.kr/a.png", &"a".repeat(80), None);
        assert_eq!(thumb.alt_text.chars().count(), ALT_TEXT_MAX);
        let buttons = (0..5)
            .map(|i| Button::message(&format!("버튼{i}"), "x"))
            .collect();
        let card = BasicCard::new(&"제".repeat(70), &"설".repeat(300), thumb, buttons);
        assert_eq!(card.title.chars().count(), CARD_TITLE_MAX);
        assert_eq!(card.description.chars().count(), CARD_DESCRIPTION_MAX);
        assert_eq!(card.buttons.len(), MAX_BUTTONS);
        let carousel = Carousel::basic_cards(vec![card; 12]);
        assert_eq!(carousel.items.len(), MAX_CAROUSEL_CARDS);

        let items: Vec<ListItem> = (0..7)
            .map(|i| ListItem::new(&i.to_string(), "", None))
            .collect();
        let list = ListCard::new("헤더", items, vec![]);
        assert_eq!(list.items.len(), MAX_LIST_ITEMS);
        let carousel = Carousel::list_cards(vec![list; 7]);
        assert_eq!(carousel.items.len(), MAX_CAROUSEL_LIST_CARDS);
        for item in &carousel.items {
            let CarouselItem::ListCard(c) = item else {
                panic!()
            };
            assert_eq!(c.items.len(), MAX_LIST_ITEMS_IN_CAROUSEL);
        }

        let quick: Vec<QuickReply> = (0..12).map(|i| QuickReply::say(&i.to_string())).collect();
        let outputs = vec![Output::text(&"가".repeat(1200)); 4];
        let r = SkillResponse::new(outputs, quick);
        assert_eq!(r.template.outputs.len(), MAX_OUTPUTS);
        assert_eq!(r.template.quick_replies.len(), MAX_QUICK_REPLIES);
        let Output::SimpleText { text } = &r.template.outputs[0] else {
            panic!()
        };
        assert_eq!(text.chars().count(), SIMPLE_TEXT_MAX);
    }

    #[test]
    fn serialises_in_the_2_0_shape() {
        let r = SkillResponse::new(
            vec![
                Output::text("안녕하세요"),
                Output::Carousel(Carousel::basic_cards(vec![BasicCard::new(
                    "덩크",
                    "설명",
                    Thumbnail::new("https://x.kr/a.png", "덩크", Some("https://x.kr/p".into())),
                    vec![Button::web("상품 보기", "https://x.kr/p".into())],
                )])),
            ],
            vec![QuickReply::say("래플")],
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["version"], "2.0");
        assert_eq!(
            v["template"]["outputs"][0]["simpleText"]["text"],
            "안녕하세요"
        );
        let card = &v["template"]["outputs"][1]["carousel"];
        assert_eq!(card["type"], "basicCard");
        assert_eq!(
            card["items"][0]["thumbnail"]["imageUrl"],
            "https://x.kr/a.png"
        );
        assert_eq!(
            card["items"][0]["thumbnail"]["link"]["web"],
            "https://x.kr/p"
        );
        assert_eq!(card["items"][0]["buttons"][0]["action"], "webLink");
        assert_eq!(
            card["items"][0]["buttons"][0]["webLinkUrl"],
            "https://x.kr/p"
        );
        assert_eq!(
            v["template"]["quickReplies"][0],
            serde_json::json!({"label": "래플", "action": "message", "messageText": "래플"})
        );
    }
}
