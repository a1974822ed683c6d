//! The chatbot's answers in Korean, built from the domains' data: pure functions, so that what a
//! Kakao user reads can be tested without a database.

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};
use uuid::Uuid;

use super::response::{
    BasicCard, Button, Carousel, ListCard, ListItem, MAX_LIST_ITEMS, MAX_LIST_ITEMS_IN_CAROUSEL,
    Output, QuickReply, SkillResponse, Thumbnail,
};
use crate::catalogue::{ChainStatus, Product};
use crate::raffles::{Entry, EntryOutcome, Raffle, RaffleState};

/// Where cards point: the web front end and the one card image.
#[derive(Debug, Clone)]
pub struct Links {
    pub web_base_url: String,
    pub card_image_url: String,
}

impl Links {
    fn product(&self, id: Uuid) -> String {
        format!("{}/products/{id}", self.web_base_url)
    }

    fn raffle(&self, id: Uuid) -> String {
        format!("{}/raffles/{id}", self.web_base_url)
    }

    fn thumbnail(&self, alt: &str, link: String) -> Thumbnail {
        Thumbnail::new(&self.card_image_url, alt, Some(link))
    }
}

/// The quick replies under most answers.
pub fn menu() -> Vec<QuickReply> {
    ["진행 중인 래플", "내 응모", "상품 검색", "도움말"]
        .into_iter()
        .map(QuickReply::say)
        .collect()
}

/// Korea Standard Time, UTC+9 all year.
fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("UTC+9 is a valid offset")
}

/// "11월 21일 (토) 18:00" in Korea's time.
pub fn korean_time(at: DateTime<Utc>) -> String {
    let t = at.with_timezone(&kst());
    let day =
        ["월", "화", "수", "목", "금", "토", "일"][t.weekday().num_days_from_monday() as usize];
    format!(
        "{}월 {}일 ({day}) {:02}:{:02}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// "159,000원".
pub fn won(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{out}원")
}

/// What a raffle's state means to a buyer, with its time where one matters.
pub fn raffle_state(r: &Raffle) -> String {
    match r.state {
        RaffleState::Scheduled => format!("응모 예정 · {} 시작", korean_time(r.opens_at)),
        RaffleState::Open => format!("응모 중 · {} 마감", korean_time(r.closes_at)),
        RaffleState::Closed => "응모 마감 · 추첨 중".into(),
        RaffleState::Drawn => "추첨 완료".into(),
        RaffleState::Settled => "판매 종료".into(),
        RaffleState::Cancelled => "취소된 래플".into(),
        RaffleState::Void => "무효 (추첨 없음)".into(),
        RaffleState::Empty => "응모자 없음 (추첨 없음)".into(),
    }
}

/// Whether the product's signed record is on chain.
pub fn chain_badge(status: ChainStatus) -> &'static str {
    match status {
        ChainStatus::Anchored | ChainStatus::Confirmed => "✅ 블록체인 인증 완료",
        ChainStatus::Pending | ChainStatus::AwaitingSignature => "⏳ 블록체인 인증 대기",
        ChainStatus::Revoked => "⚠️ 인증 철회됨",
    }
}

pub fn help() -> SkillResponse {
    SkillResponse::text(
        "트러플 챗봇이에요. 이렇게 말해 보세요.\n\
         • 검색 덩크 — 상품 검색\n\
         • 래플 — 진행 중인 래플 (마감 임박 순)\n\
         • 내 응모 — 내 응모와 당첨 결과 (계정 연결 필요)\n\
         • 연결 12345678 — 앱 마이페이지의 8자리 코드로 계정 연결\n\
         • 연결 해제 — 카카오톡과 계정 연결 끊기",
        menu(),
    )
}

/// The polite answer to anything we cannot answer: a broken request, a failure, or no time.
pub fn fallback() -> SkillResponse {
    SkillResponse::text(
        "죄송해요, 지금은 답변을 드리기 어려워요. 잠시 후 다시 시도해 주세요.",
        menu(),
    )
}

pub fn ask_search() -> SkillResponse {
    SkillResponse::text(
        "어떤 상품을 찾으세요? '검색 덩크'처럼 상품명이나 브랜드를 함께 보내 주세요.",
        menu(),
    )
}

/// Search results: a line saying how many, then a carousel of basicCards.
pub fn search_results(
    links: &Links,
    query: &str,
    total: u64,
    hits: &[(Product, Option<Raffle>)],
) -> SkillResponse {
    if hits.is_empty() {
        return SkillResponse::text(
            &format!("'{query}'에 맞는 상품을 찾지 못했어요. 다른 이름이나 브랜드로 찾아보세요."),
            menu(),
        );
    }
    let cards = hits
        .iter()
        .map(|(p, raffle)| {
            let price = raffle
                .as_ref()
                .map(|r| r.price_krw)
                .unwrap_or(p.record.retail_price_krw as i64);
            let state = match raffle {
                Some(r) => raffle_state(r),
                None => "래플 없음".into(),
            };
            let description = format!(
                "{} · {}\n{}\n{}",
                p.record.brand,
                won(price),
                state,
                chain_badge(p.chain.status)
            );
            let mut buttons = vec![Button::web("상품 보기", links.product(p.id))];
            if let Some(r) = raffle {
                buttons.push(Button::message("래플 보기", &format!("래플 {}", r.id)));
            }
            BasicCard::new(
                &p.record.name,
                &description,
                links.thumbnail(&p.record.name, links.product(p.id)),
                buttons,
            )
        })
        .collect();
    let head = if total > hits.len() as u64 {
        format!("'{query}' 검색 결과 {total}개 중 {}개예요.", hits.len())
    } else {
        format!("'{query}' 검색 결과 {}개예요.", hits.len())
    };
    SkillResponse::new(
        vec![
            Output::text(&head),
            Output::Carousel(Carousel::basic_cards(cards)),
        ],
        menu(),
    )
}

fn product_name(products: &[Product], id: Uuid) -> String {
    products
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.record.name.clone())
        .unwrap_or_else(|| "상품".into())
}

/// Open raffles closing soonest: one listCard, or a carousel of listCards past five.
pub fn open_raffles(links: &Links, raffles: &[Raffle], products: &[Product]) -> SkillResponse {
    if raffles.is_empty() {
        return SkillResponse::text(
            "지금 응모할 수 있는 래플이 없어요. 곧 새 래플이 열려요!",
            menu(),
        );
    }
    let items: Vec<ListItem> = raffles
        .iter()
        .map(|r| {
            ListItem::new(
                &product_name(products, r.product_id),
                &format!("{} 마감 · {}", korean_time(r.closes_at), won(r.price_krw)),
                Some(format!("래플 {}", r.id)),
            )
        })
        .collect();
    let all = Button::web("전체 보기", format!("{}/raffles", links.web_base_url));
    let card = if items.len() <= MAX_LIST_ITEMS {
        Output::ListCard(ListCard::new(
            "진행 중인 래플 (마감 임박 순)",
            items,
            vec![all],
        ))
    } else {
        let cards = items
            .chunks(MAX_LIST_ITEMS_IN_CAROUSEL)
            .enumerate()
            .map(|(i, chunk)| {
                ListCard::new(
                    &format!("진행 중인 래플 {}", i + 1),
                    chunk.to_vec(),
                    vec![all.clone()],
                )
            })
            .collect();
        Output::Carousel(Carousel::list_cards(cards))
    };
    SkillResponse::new(vec![card], menu())
}

/// One raffle: a basicCard with its state, closing time, price and entries.
pub fn raffle(links: &Links, r: &Raffle, product: Option<&Product>) -> SkillResponse {
    let name = product
        .map(|p| p.record.name.clone())
        .unwrap_or_else(|| "래플".into());
    let mut description = format!(
        "{}\n{} 마감\n{} · 당첨 {}명 · 응모 {}명",
        raffle_state(r),
        korean_time(r.closes_at),
        won(r.price_krw),
        r.winners,
        r.entry_count
    );
    if let Some(p) = product {
        description.push('\n');
        description.push_str(chain_badge(p.chain.status));
    }
    let label = if r.state == RaffleState::Open {
        "응모하러 가기"
    } else {
        "래플 보기"
    };
    let card = BasicCard::new(
        &name,
        &description,
        links.thumbnail(&name, links.raffle(r.id)),
        vec![Button::web(label, links.raffle(r.id))],
    );
    SkillResponse::new(vec![Output::BasicCard(card)], menu())
}

pub fn raffle_not_found() -> SkillResponse {
    SkillResponse::text(
        "그 래플을 찾지 못했어요. '래플'이라고 보내면 진행 중인 래플을 보여 드려요.",
        menu(),
    )
}

pub fn link_first() -> SkillResponse {
    SkillResponse::text(
        "먼저 트러플 계정을 연결해 주세요. 트러플 앱의 마이페이지 > 카카오톡 연결에서 8자리 코드를 받은 뒤 \
         '연결 12345678'처럼 보내 주세요.",
        menu(),
    )
}

/// What became of an entry, as its entrant reads it.
pub fn outcome(entry: &Entry, raffle: Option<&Raffle>) -> String {
    if entry.withdrawn_at.is_some() {
        return "응모 취소".into();
    }
    match (entry.outcome, raffle) {
        (Some(EntryOutcome::Won), _) => "🎉 당첨! 결제 기한 안에 결제해 주세요".into(),
        (Some(EntryOutcome::Alternate), Some(r)) => {
            let place = entry
                .position
                .map(|p| p.saturating_sub(r.winners) + 1)
                .unwrap_or(1);
            format!("예비 당첨 {place}번 · 당첨자가 결제하지 않으면 차례가 와요")
        }
        (Some(EntryOutcome::Alternate), None) => "예비 당첨".into(),
        (Some(EntryOutcome::Lost), _) => "미당첨".into(),
        (_, Some(r)) => match r.state {
            RaffleState::Scheduled | RaffleState::Open => {
                format!("결과 대기 · {} 마감", korean_time(r.closes_at))
            }
            RaffleState::Closed => "결과 대기 · 추첨 중".into(),
            RaffleState::Cancelled => "래플 취소".into(),
            RaffleState::Void => "래플 무효 (추첨 없음)".into(),
            RaffleState::Empty => "응모자 없이 종료".into(),
            RaffleState::Drawn | RaffleState::Settled => "미당첨".into(),
        },
        (_, None) => "결과 대기".into(),
    }
}

/// The linked user's latest entries with their results.
pub fn my_entries(
    links: &Links,
    entries: &[(Entry, Option<Raffle>)],
    products: &[Product],
) -> SkillResponse {
    if entries.is_empty() {
        return SkillResponse::text(
            "아직 응모한 래플이 없어요. '래플'이라고 보내면 응모할 수 있는 래플을 보여 드려요.",
            menu(),
        );
    }
    let items = entries
        .iter()
        .map(|(e, r)| {
            let name = r
                .as_ref()
                .map(|r| product_name(products, r.product_id))
                .unwrap_or_else(|| "래플".into());
            ListItem::new(
                &name,
                &outcome(e, r.as_ref()),
                Some(format!("래플 {}", e.raffle_id)),
            )
        })
        .collect();
    let all = Button::web("전체 보기", format!("{}/me/entries", links.web_base_url));
    SkillResponse::new(
        vec![Output::ListCard(ListCard::new(
            "내 응모 (최근 순)",
            items,
            vec![all],
        ))],
        menu(),
    )
}

pub fn ask_code() -> SkillResponse {
    SkillResponse::text(
        "트러플 앱의 마이페이지 > 카카오톡 연결에서 받은 8자리 코드를 '연결 12345678'처럼 보내 주세요.",
        menu(),
    )
}

pub fn linked() -> SkillResponse {
    SkillResponse::text(
        "트러플 계정과 연결되었어요! 이제 '내 응모'로 응모와 당첨 결과를 확인할 수 있어요.",
        menu(),
    )
}

pub fn code_refused() -> SkillResponse {
    SkillResponse::text(
        "코드가 맞지 않거나 만료되었어요. 코드는 10분 동안 한 번만 쓸 수 있어요. 앱에서 새 코드를 받아 다시 보내 주세요.",
        menu(),
    )
}

pub fn too_many_attempts() -> SkillResponse {
    SkillResponse::text(
        "코드를 너무 여러 번 보내셨어요. 10분 뒤에 다시 시도해 주세요.",
        menu(),
    )
}

/// Too many wrong codes from everyone together: linking pauses for all (the global budget).
pub fn linking_paused() -> SkillResponse {
    SkillResponse::text(
        "지금은 계정 연결이 잠시 중단되었어요. 잠시 후 다시 시도해 주세요.",
        menu(),
    )
}

/// The code was right and this Kakao user is already linked to that account.
pub fn already_linked() -> SkillResponse {
    SkillResponse::text(
        "이미 이 트러플 계정과 연결되어 있어요. '내 응모'로 응모와 당첨 결과를 확인할 수 있어요.",
        menu(),
    )
}

/// This Kakao user is linked to another account: it must unlink first.
pub fn kakao_linked_elsewhere() -> SkillResponse {
    SkillResponse::text(
        "이 카카오톡은 이미 다른 트러플 계정과 연결되어 있어서 연결하지 않았어요. '연결 해제'를 보낸 뒤 \
         앱에서 새 코드를 받아 다시 연결해 주세요.",
        menu(),
    )
}

/// The account is linked to another Kakao user and its owner did not ask to replace that link.
pub fn account_linked_elsewhere() -> SkillResponse {
    SkillResponse::text(
        "이 트러플 계정은 이미 다른 카카오톡과 연결되어 있어서 연결하지 않았어요. 바꾸려면 앱의 마이페이지 > \
         카카오톡 연결에서 '연결 바꾸기'로 새 코드를 받아 주세요.",
        menu(),
    )
}

pub fn unlinked(was_linked: bool) -> SkillResponse {
    let text = if was_linked {
        "카카오톡과 트러플 계정의 연결을 끊었어요. 다시 연결하려면 앱에서 새 코드를 받아 주세요."
    } else {
        "연결된 트러플 계정이 없어요."
    };
    SkillResponse::text(text, menu())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_korean_and_in_kst() {
        // 2026-11-21 09:00 UTC is 18:00 on Saturday in Seoul.
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
        assert_eq!(korean_time(at), "11월 21일 (토) 18:00");
        // 15:30 UTC is already the next day in Korea.
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 15, 30, 0).unwrap();
        assert_eq!(korean_time(at), "11월 22일 (일) 00:30");
    }

    fn raffle_at(closes_at: DateTime<Utc>, state: RaffleState, winners: u32) -> Raffle {
        Raffle {
            id: Uuid::now_v7(),
            product_id: Uuid::now_v7(),
            product_content_hash: String::new(),
            seller_id: Uuid::now_v7(),
            price_krw: 159_000,
            winners,
            opens_at: closes_at - chrono::Duration::days(1),
            closes_at,
            payment_window_secs: 86_400,
            state,
            entry_count: 0,
            ticket_count: None,
            chain: crate::raffles::RaffleChain {
                seed_hash: String::new(),
                commit_tx: None,
                close_tx: None,
                close_block: None,
                reveal_tx: None,
            },
            drawn_at: None,
            cancel_reason: None,
            created_at: closes_at,
        }
    }

    fn links() -> Links {
        Links {
            web_base_url: "https://truffle.example".into(),
            card_image_url: "https://truffle.example/card.png".into(),
        }
    }

    #[test]
    fn many_open_raffles_become_a_carousel_of_list_cards_of_four() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
        let raffles: Vec<Raffle> = (0..7)
            .map(|_| raffle_at(at, RaffleState::Open, 1))
            .collect();
        let v = serde_json::to_value(open_raffles(&links(), &raffles, &[])).unwrap();
        let carousel = &v["template"]["outputs"][0]["carousel"];
        assert_eq!(carousel["type"], "listCard");
        let cards = carousel["items"].as_array().unwrap();
        assert_eq!(cards.len(), 2);
        assert_eq!(cards[0]["items"].as_array().unwrap().len(), 4);
        assert_eq!(cards[1]["items"].as_array().unwrap().len(), 3);
        assert_eq!(
            cards[0]["items"][0]["description"],
            "11월 21일 (토) 18:00 마감 · 159,000원"
        );
        assert_eq!(
            cards[1]["items"][2]["messageText"],
            format!("래플 {}", raffles[6].id)
        );
        // Five or fewer: one listCard.
        let v = serde_json::to_value(open_raffles(&links(), &raffles[..5], &[])).unwrap();
        assert_eq!(
            v["template"]["outputs"][0]["listCard"]["items"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
    }

    #[test]
    fn outcomes_read_as_an_entrant_would() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
        let drawn = raffle_at(at, RaffleState::Drawn, 2);
        let mut entry = Entry {
            id: Uuid::now_v7(),
            raffle_id: drawn.id,
            ticket: String::new(),
            created_at: at,
            withdrawn_at: None,
            outcome: Some(EntryOutcome::Alternate),
            position: Some(3),
        };
        // Positions 0 and 1 won; 2 is the first alternate, 3 the second.
        assert!(outcome(&entry, Some(&drawn)).starts_with("예비 당첨 2번"));
        entry.outcome = Some(EntryOutcome::Won);
        assert!(outcome(&entry, Some(&drawn)).contains("당첨!"));
        entry.outcome = Some(EntryOutcome::Lost);
        assert_eq!(outcome(&entry, Some(&drawn)), "미당첨");
        entry.outcome = None;
        let open = raffle_at(at, RaffleState::Open, 1);
        assert_eq!(
            outcome(&entry, Some(&open)),
            "결과 대기 · 11월 21일 (토) 18:00 마감"
        );
        entry.withdrawn_at = Some(at);
        assert_eq!(outcome(&entry, Some(&open)), "응모 취소");
    }

    #[test]
    fn prices_have_thousands_separators() {
        assert_eq!(won(0), "0원");
        assert_eq!(won(999), "999원");
        assert_eq!(won(159_000), "159,000원");
        assert_eq!(won(1_234_567), "1,234,567원");
    }
}
