//! `POST /v1/kakao/skill` (Kakao i Open Builder) and `/v1/me/kakao-link`, with payloads of the
//! real shape (Kakao i Open Builder's skill API; the fields we use are listed in `docs/KAKAO.md`): intent, userRequest with the
//! botUserKey and its properties, bot, action with params and detailParams (system entities as
//! JSON strings), and the extra keys real traffic carries.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, TestChain};
use crate::raffles::{anchored_product, db_now, drive_draw, open_raffle};

const SECRET: &str = "kakao-test-skill-secret-7f3a9c";
const BOT: &str = "5f2d8c0e1a9b4c0001d3e7aa";
const WEB: &str = "https://truffle.example";

fn configure(env: &mut HashMap<String, String>) {
    env.insert("KAKAO_SKILL_SECRET".into(), SECRET.into());
    env.insert("KAKAO_BOT_ID".into(), BOT.into());
    env.insert("KAKAO_WEB_BASE_URL".into(), WEB.into());
}

async fn kakao_app() -> TestApp {
    TestApp::spawn_with(configure).await
}

/// A skill payload as Open Builder sends it.
fn payload(user: &str, utterance: &str, block: &str, params: Value, detail: Value) -> Value {
    json!({
        "intent": {"id": "64a1f0c2e5d7b83a1c2f0001", "name": block,
                   "extra": {"reason": {"code": 1, "message": "OK"}}},
        "userRequest": {
            "timezone": "Asia/Seoul",
            "params": {"surface": "Kakaotalk.plusfriend", "ignoreMe": "true"},
            "block": {"id": "64a1f0c2e5d7b83a1c2f0001", "name": block},
            "utterance": utterance,
            "lang": "kr",
            "user": {
                "id": user,
                "type": "botUserKey",
                "properties": {"plusfriendUserKey": "Ab3dE9xYz", "botUserKey": user,
                               "bot_user_key": user, "isFriend": true}
            }
        },
        "contexts": [],
        "bot": {"id": BOT, "name": "트러플"},
        "action": {
            "id": "64a1f0c2e5d7b83a1c2f0101",
            "name": "truffle skill",
            "params": params,
            "detailParams": detail,
            "clientExtra": null
        },
        "flow": {"trigger": {"type": "TEXT_INPUT"}, "lastBlock": {"id": "x", "name": "폴백 블록"}},
        "skillOption": {"isTrusted": true, "botId": BOT, "timeout": 5000}
    })
}

/// What a user types into a chat whose fallback block calls the skill.
fn says(user: &str, utterance: &str) -> Value {
    payload(user, utterance, "폴백 블록", json!({}), json!({}))
}

fn new_user_key() -> String {
    // botUserKeys are opaque strings of up to 70 characters.
    format!("kakao-{}", uuid::Uuid::new_v4().simple())
}

async fn skill_raw(app: &TestApp, secret: Option<&str>, content_type: &str, body: Vec<u8>) -> Resp {
    let mut req = app
        .http
        .post(format!("{}/v1/kakao/skill", app.base))
        .header("content-type", content_type)
        .body(body);
    if let Some(s) = secret {
        req = req.header("X-Skill-Secret", s);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    Resp {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

async fn skill_as(app: &TestApp, secret: Option<&str>, body: &Value) -> Resp {
    skill_raw(
        app,
        secret,
        "application/json;charset=UTF-8",
        serde_json::to_vec(body).unwrap(),
    )
    .await
}

/// A 200 skill answer that keeps every format limit; returns it.
#[track_caller]
fn answer(resp: Resp) -> Value {
    assert_eq!(resp.status, 200, "{}", resp.body);
    let v = resp.body;
    assert_limits(&v);
    v
}

async fn skill(app: &TestApp, body: &Value) -> Value {
    answer(skill_as(app, Some(SECRET), body).await)
}

fn chars(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(0)
}

fn assert_buttons(buttons: &Value) {
    let Some(buttons) = buttons.as_array() else {
        return;
    };
    assert!(buttons.len() <= 3, "{buttons:?}");
    for b in buttons {
        assert!((1..=14).contains(&chars(&b["label"])), "{b}");
        match b["action"].as_str().unwrap() {
            "webLink" => assert!(b["webLinkUrl"].as_str().unwrap().starts_with("https://")),
            "message" => assert!(b["messageText"].is_string()),
            other => panic!("unexpected button action {other}"),
        }
    }
}

fn assert_basic_card(c: &Value) {
    assert!((1..=50).contains(&chars(&c["title"])), "{c}");
    assert!(chars(&c["description"]) <= 230, "{c}");
    assert!(
        c["thumbnail"]["imageUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")),
        "a basicCard needs a thumbnail: {c}"
    );
    assert_buttons(&c["buttons"]);
}

fn assert_list_card(c: &Value, max_items: usize) {
    assert!(c["header"]["title"].is_string(), "{c}");
    let items = c["items"].as_array().unwrap();
    assert!((1..=max_items).contains(&items.len()), "{c}");
    for i in items {
        assert!(chars(&i["title"]) >= 1, "{i}");
    }
    assert_buttons(&c["buttons"]);
}

/// Every limit of the 2.0 format the answers use (reference §1.3).
fn assert_limits(v: &Value) {
    assert_eq!(v["version"], "2.0", "{v}");
    let outputs = v["template"]["outputs"].as_array().expect("outputs");
    assert!((1..=3).contains(&outputs.len()), "{v}");
    if let Some(q) = v["template"]["quickReplies"].as_array() {
        assert!(q.len() <= 10);
        for r in q {
            assert!((1..=14).contains(&chars(&r["label"])), "{r}");
            assert_eq!(r["action"], "message");
            assert!(r["messageText"].is_string());
        }
    }
    for o in outputs {
        let o = o.as_object().unwrap();
        assert_eq!(o.len(), 1, "one component per output: {o:?}");
        let (kind, c) = o.iter().next().unwrap();
        match kind.as_str() {
            "simpleText" => assert!((1..=1000).contains(&chars(&c["text"]))),
            "basicCard" => assert_basic_card(c),
            "listCard" => assert_list_card(c, 5),
            "carousel" => {
                let items = c["items"].as_array().unwrap();
                match c["type"].as_str().unwrap() {
                    "basicCard" => {
                        assert!((1..=10).contains(&items.len()));
                        items.iter().for_each(assert_basic_card);
                    }
                    "listCard" => {
                        assert!((1..=5).contains(&items.len()));
                        items.iter().for_each(|i| assert_list_card(i, 4));
                    }
                    other => panic!("unexpected carousel type {other}"),
                }
            }
            other => panic!("unexpected component {other}"),
        }
    }
}

/// The text of the first simpleText output.
fn text(v: &Value) -> String {
    v["template"]["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|o| o["simpleText"]["text"].as_str())
        .unwrap_or_default()
        .to_owned()
}

const FALLBACK: &str = "죄송해요, 지금은 답변을 드리기 어려워요";

#[tokio::test]
async fn the_text_rule_holds_in_skill_payloads_once_they_are_from_kakao() {
    let app = kakao_app().await;
    let user = new_user_key();
    let r = skill_as(&app, Some(SECRET), &says(&user, "덩크\u{0}")).await;
    let r = r.expect(400, "validation_failed");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .starts_with("userRequest.utterance: "),
        "{}",
        r.body
    );
    let r = skill_as(
        &app,
        Some(SECRET),
        &payload(
            &user,
            "검색",
            "상품 검색",
            json!({"query": "a\u{202e}b"}),
            json!({}),
        ),
    )
    .await;
    assert!(
        r.expect(400, "validation_failed").body["message"]
            .as_str()
            .unwrap()
            .starts_with("action.params.query: ")
    );
    // Without the secret it is still only a 401.
    skill_as(&app, None, &says(&user, "덩크\u{0}"))
        .await
        .expect(401, "skill_unauthorized");
    // What a KakaoTalk user types may span lines.
    answer(skill_as(&app, Some(SECRET), &says(&user, "도움말\n부탁해요")).await);
}

#[tokio::test]
async fn skill_calls_without_the_secret_or_from_another_bot_are_refused() {
    let app = kakao_app().await;
    let user = new_user_key();
    let body = says(&user, "도움말");

    skill_as(&app, None, &body)
        .await
        .expect(401, "skill_unauthorized");
    skill_as(&app, Some("kakao-test-skill-secret-7f3a9d"), &body)
        .await
        .expect(401, "skill_unauthorized");
    skill_as(&app, Some(""), &body)
        .await
        .expect(401, "skill_unauthorized");
    // The right secret, but another bot's request.
    let mut other = body.clone();
    other["bot"]["id"] = json!("5f2d8c0e1a9b4c0001d3e7ab");
    skill_as(&app, Some(SECRET), &other)
        .await
        .expect(401, "skill_unauthorized");
    // Refused before the body is read: a broken body without the secret is still a 401.
    skill_raw(&app, None, "application/json", b"{not json".to_vec())
        .await
        .expect(401, "skill_unauthorized");

    let help = skill(&app, &body).await;
    assert!(text(&help).contains("검색 덩크"), "{help}");
    // 401 answers carry the usual error body; the OpenAPI document describes the endpoints.
    let doc = app.get("/openapi.json", None).await.ok();
    assert!(doc["paths"]["/v1/kakao/skill"]["post"]["responses"]["401"].is_object());
    for method in ["get", "post", "delete"] {
        assert!(
            doc["paths"]["/v1/me/kakao-link"][method].is_object(),
            "{method}"
        );
    }
    app.stop().await;

    // A server without a configured secret refuses everyone, whatever they send.
    let unconfigured = TestApp::spawn().await;
    skill_as(&unconfigured, Some(SECRET), &body)
        .await
        .expect(401, "skill_unauthorized");
    skill_as(&unconfigured, Some(""), &body)
        .await
        .expect(401, "skill_unauthorized");
    unconfigured.stop().await;
}

#[tokio::test]
async fn malformed_payloads_get_a_polite_fallback_and_unknown_fields_are_ignored() {
    let app = kakao_app().await;
    let user = new_user_key();
    for (content_type, body) in [
        ("application/json", b"{\"userRequest\": {".to_vec()),
        ("application/json", Vec::new()),
        ("text/plain", "검색 덩크".as_bytes().to_vec()),
        ("application/json", b"[1, 2, 3]".to_vec()),
        ("application/json", b"\"2.0\"".to_vec()),
    ] {
        let v = answer(skill_raw(&app, Some(SECRET), content_type, body).await);
        assert!(text(&v).starts_with(FALLBACK), "{v}");
    }
    // Wrong types everywhere (bot id a number): no bot to check, so only the fallback.
    let wrong = json!({"bot": {"id": 42}, "userRequest": {"utterance": ["검색"], "user": 7},
                       "action": {"params": "x", "detailParams": [1]}, "intent": null});
    assert!(text(&skill(&app, &wrong).await).starts_with(FALLBACK));
    // The right bot but a wrongly typed utterance and params: answered as an empty message.
    let mut typed = says(&user, "");
    typed["userRequest"]["utterance"] = json!(12);
    typed["action"]["params"] = json!({"query": {"deep": 1}});
    typed["action"]["clientExtra"] = json!("not a map");
    assert!(text(&skill(&app, &typed).await).contains("트러플 챗봇이에요"));
    // Unknown fields anywhere change nothing.
    let mut extra = says(&user, "도움말");
    extra["somethingNew"] = json!({"nested": [1, 2]});
    extra["userRequest"]["user"]["properties"]["accountId"] = json!("1234");
    extra["userRequest"]["user"]["properties"]["talkUserId"] = json!(99);
    extra["bot"]["version"] = json!(3);
    let v = skill(&app, &extra).await;
    assert!(text(&v).contains("트러플 챗봇이에요"), "{v}");
    assert!(v["template"]["quickReplies"].as_array().unwrap().len() >= 2);
    app.stop().await;
}

async fn create_product(app: &TestApp, seller: &str, name: &str) -> String {
    let body = json!({"name": name, "brand": "Nike", "category": "sneakers",
                      "edition_size": 100, "retail_price_krw": 139000});
    app.post("/v1/products", Some(seller), body).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Asks until the search index has caught up enough for `check`.
async fn until(app: &TestApp, body: &Value, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let v = skill(app, body).await;
        if check(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never got the expected answer: {}", skill(app, body).await);
}

#[tokio::test]
async fn search_answers_a_carousel_of_cards_within_kakaos_limits() {
    let app = kakao_app().await;
    let user = new_user_key();
    let (_, seller) = app.seller().await;
    // Names longer than a card title's 50 characters.
    let mut ids = Vec::new();
    for i in 0..11 {
        let name = format!("나이키 덩크 로우 {i}번 에디션 {}", "레트로 판다 ".repeat(8));
        assert!(name.chars().count() > 50);
        ids.push(create_product(&app, &seller, &name).await);
    }
    create_product(&app, &seller, "아디다스 삼바 OG").await;

    // A block named as docs/KAKAO.md says, with the query as a parameter.
    let block = payload(
        &user,
        "상품 검색",
        "상품 검색",
        json!({"query": "덩크"}),
        json!({"query": {"origin": "덩크", "value": "덩크", "groupName": ""}}),
    );
    let v = until(&app, &block, |v| text(v).contains("11개 중 10개")).await;
    let carousel = &v["template"]["outputs"][1]["carousel"];
    assert_eq!(carousel["type"], "basicCard");
    let cards = carousel["items"].as_array().unwrap();
    assert_eq!(cards.len(), 10, "a carousel holds ten cards");
    for card in cards {
        let d = card["description"].as_str().unwrap();
        assert!(d.contains("Nike · 139,000원"), "{d}");
        assert!(d.contains("래플 없음"), "{d}");
        assert!(
            d.contains("블록체인 인증 대기"),
            "not anchored without a chain: {d}"
        );
        let link = card["buttons"][0]["webLinkUrl"].as_str().unwrap();
        let id = link.strip_prefix(&format!("{WEB}/products/")).unwrap();
        assert!(ids.iter().any(|i| i == id), "{link}");
        assert_eq!(card["thumbnail"]["link"]["web"], link);
        assert!(!card["title"].as_str().unwrap().contains("삼바"));
    }
    // Long names are cut on a character boundary, to 50 characters with an ellipsis.
    for card in cards {
        let title = card["title"].as_str().unwrap();
        // 50, or 49 when the cut fell after a space (not left dangling before the "…").
        assert!((49..=50).contains(&title.chars().count()), "{title}");
        assert!(title.ends_with('…'), "{title}");
        assert!(title.starts_with("나이키 덩크 로우 "), "{title}");
    }
    assert!(v["template"]["quickReplies"].as_array().unwrap().len() <= 10);

    // The keyword fallback finds the same, and a miss says so in Korean.
    let v = skill(&app, &says(&user, "검색 삼바")).await;
    let cards = v["template"]["outputs"][1]["carousel"]["items"]
        .as_array()
        .unwrap();
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0]["title"], "아디다스 삼바 OG");
    let v = skill(&app, &says(&user, "검색 없는상품이름")).await;
    assert!(text(&v).contains("찾지 못했어요"), "{v}");
    let v = skill(&app, &says(&user, "검색")).await;
    assert!(text(&v).contains("어떤 상품을 찾으세요"), "{v}");
    app.stop().await;
}

#[tokio::test]
async fn open_raffles_closing_soonest_and_one_raffles_state_in_korean_time() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| {
        chain.configure(env);
        configure(env);
    })
    .await;
    let user = new_user_key();
    let v = skill(&app, &says(&user, "래플")).await;
    assert!(text(&v).contains("응모할 수 있는 래플이 없어요"), "{v}");

    let (seller, product) = anchored_product(&app, &chain, 100).await;
    let later = open_raffle(&app, &seller, &product, 2, Duration::from_secs(7200)).await;
    let sooner = open_raffle(&app, &seller, &product, 1, Duration::from_secs(3600)).await;

    // A block with a sys.date parameter given, as Kakao does, as JSON in a string.
    let block = payload(
        &user,
        "진행 중인 래플",
        "진행 중인 래플",
        json!({"sys_date": "{\"value\":\"2026-11-21\",\"userValue\":null,\"dateTag\":null,\"dateHeadword\":null,\"dateTimeTag\":null}"}),
        json!({"sys_date": {"origin": "오늘", "value": "{\"value\":\"2026-11-21\"}", "groupName": ""}}),
    );
    let v = skill(&app, &block).await;
    let list = &v["template"]["outputs"][0]["listCard"];
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{v}");
    assert_eq!(
        items[0]["messageText"],
        format!("래플 {sooner}"),
        "closing soonest first"
    );
    assert_eq!(items[1]["messageText"], format!("래플 {later}"));
    let raffle = app.get(&format!("/v1/raffles/{sooner}"), None).await.ok();
    let closes: chrono::DateTime<chrono::Utc> =
        raffle["closes_at"].as_str().unwrap().parse().unwrap();
    let when = truffle::kakao::answers::korean_time(closes);
    assert!(when.contains("월 ") && when.contains("일 ("), "{when}");
    assert_eq!(
        items[0]["description"],
        format!("{when} 마감 · 159,000원"),
        "{v}"
    );
    assert_eq!(items[0]["title"], "아더에러 x 푸마 스피드캣");

    // One raffle, from the list item's message: state, closing time (KST), price, entries.
    let v = skill(&app, &says(&user, &format!("래플 {sooner}"))).await;
    let card = &v["template"]["outputs"][0]["basicCard"];
    let d = card["description"].as_str().unwrap();
    assert!(d.starts_with(&format!("응모 중 · {when} 마감")), "{d}");
    assert!(d.contains("159,000원 · 당첨 1명 · 응모 0명"), "{d}");
    assert!(d.contains("블록체인 인증 완료"), "{d}");
    assert_eq!(card["buttons"][0]["label"], "응모하러 가기");
    assert_eq!(
        card["buttons"][0]["webLinkUrl"],
        format!("{WEB}/raffles/{sooner}")
    );

    // The same through a "래플 상세" block with the id as a parameter.
    let block = payload(
        &user,
        "래플 상세",
        "래플 상세",
        json!({"raffle_id": later}),
        json!({}),
    );
    let v = skill(&app, &block).await;
    assert!(
        v["template"]["outputs"][0]["basicCard"]["description"]
            .as_str()
            .unwrap()
            .contains("당첨 2명"),
        "{v}"
    );
    // The KST time really is UTC+9.
    let kst = closes + chrono::Duration::hours(9);
    assert!(when.ends_with(&kst.format("%H:%M").to_string()), "{when}");

    let v = skill(
        &app,
        &says(&user, &format!("래플 {}", uuid::Uuid::now_v7())),
    )
    .await;
    assert!(text(&v).contains("찾지 못했어요"), "{v}");
    app.stop().await;
}

async fn link_code(app: &TestApp, token: &str) -> String {
    link_code_with(app, token, None).await
}

async fn link_code_with(app: &TestApp, token: &str, body: Option<Value>) -> String {
    let r = app
        .call(Method::POST, "/v1/me/kakao-link", Some(token), body)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let code = r.body["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 8);
    assert!(code.chars().all(|c| c.is_ascii_digit()));
    let expires: chrono::DateTime<chrono::Utc> =
        r.body["expires_at"].as_str().unwrap().parse().unwrap();
    let left = expires - db_now(app).await;
    assert!(
        left > chrono::Duration::minutes(9) && left <= chrono::Duration::minutes(10),
        "{left}"
    );
    code
}

fn other_code(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:08}", (n + 1) % 100_000_000)
}

const LINKED: &str = "트러플 계정과 연결되었어요";
const REFUSED: &str = "코드가 맞지 않거나 만료되었어요";
const LINK_FIRST: &str = "먼저 트러플 계정을 연결해 주세요";
const ELSEWHERE: &str = "이미 다른";
const PAUSED: &str = "계정 연결이 잠시 중단되었어요";

#[tokio::test]
async fn link_code_guessing_across_rotating_kakao_users_hits_the_global_budget() {
    let app = TestApp::spawn_with(|env| {
        configure(env);
        env.insert("KAKAO_LINK_FAILURE_BUDGET".into(), "5/1h".into());
    })
    .await;
    let token = app.buyer().await;
    let code = link_code(&app, &token).await;
    // A right guess along the way gives its attempt back: it is no failure.
    let early = app.buyer().await;
    let early_code = link_code(&app, &early).await;
    let v = skill(&app, &says(&new_user_key(), &format!("연결 {early_code}"))).await;
    assert!(text(&v).starts_with(LINKED), "{v}");
    // Five wrong codes, each from a fresh Kakao user id: each user is far from its own limit.
    for _ in 0..5 {
        let v = skill(
            &app,
            &says(&new_user_key(), &format!("연결 {}", other_code(&code))),
        )
        .await;
        assert!(text(&v).starts_with(REFUSED), "{v}");
    }
    // The shared budget is spent: even the right code from yet another user links nothing.
    let guesser = new_user_key();
    let v = skill(&app, &says(&guesser, &format!("연결 {code}"))).await;
    assert!(text(&v).contains(PAUSED), "{v}");
    assert_eq!(
        app.get("/v1/me/kakao-link", Some(&token)).await.ok()["linked"],
        false
    );
    let v = skill(&app, &says(&guesser, "내 응모")).await;
    assert!(text(&v).starts_with(LINK_FIRST), "{v}");
    app.stop().await;
}

#[tokio::test]
async fn an_existing_link_is_not_replaced_without_consent() {
    let app = kakao_app().await;
    let owner = app.buyer().await;
    let mine = new_user_key();
    let code = link_code(&app, &owner).await;
    let v = skill(&app, &says(&mine, &format!("연결 {code}"))).await;
    assert!(text(&v).starts_with(LINKED), "{v}");
    // The owner hears of it in their inbox.
    let inbox = app.get("/v1/me/notifications", Some(&owner)).await.ok();
    assert!(inbox.to_string().contains("kakao_linked"), "{inbox}");

    // A code without consent (someone got hold of it, or guessed it) does not move the link.
    let other = new_user_key();
    let code = link_code(&app, &owner).await;
    let v = skill(&app, &says(&other, &format!("연결 {code}"))).await;
    assert!(text(&v).contains(ELSEWHERE), "{v}");
    let v = skill(&app, &says(&other, "내 응모")).await;
    assert!(text(&v).starts_with(LINK_FIRST), "{v}");
    let v = skill(&app, &says(&mine, "내 응모")).await;
    assert!(!text(&v).starts_with(LINK_FIRST), "{v}");
    // The code was used up by that attempt.
    let v = skill(&app, &says(&new_user_key(), &format!("연결 {code}"))).await;
    assert!(text(&v).starts_with(REFUSED), "{v}");

    // A Kakao user linked to one account is not taken over by another account's code.
    let someone = app.buyer().await;
    let code = link_code(&app, &someone).await;
    let v = skill(&app, &says(&mine, &format!("연결 {code}"))).await;
    assert!(text(&v).contains(ELSEWHERE), "{v}");
    assert_eq!(
        app.get("/v1/me/kakao-link", Some(&someone)).await.ok()["linked"],
        false
    );

    // With the owner's consent the link moves; the old Kakao user is unlinked.
    let code = link_code_with(&app, &owner, Some(json!({"replace": true}))).await;
    let v = skill(&app, &says(&other, &format!("연결 {code}"))).await;
    assert!(text(&v).starts_with(LINKED), "{v}");
    let v = skill(&app, &says(&mine, "내 응모")).await;
    assert!(text(&v).starts_with(LINK_FIRST), "{v}");
    let v = skill(&app, &says(&other, "내 응모")).await;
    assert!(!text(&v).starts_with(LINK_FIRST), "{v}");
    app.stop().await;
}

#[tokio::test]
async fn link_codes_work_once_are_replaced_and_guessing_is_limited() {
    let app = kakao_app().await;
    let token = app.buyer().await;
    let kakao = new_user_key();

    app.call(Method::POST, "/v1/me/kakao-link", None, None)
        .await
        .expect(401, "authentication_required");
    let v = skill(&app, &says(&kakao, "내 응모")).await;
    assert!(text(&v).starts_with(LINK_FIRST), "{v}");

    // A code replaces the one before it.
    let first = link_code(&app, &token).await;
    let code = link_code(&app, &token).await;
    if first != code {
        let v = skill(&app, &says(&kakao, &format!("연결 {first}"))).await;
        assert!(text(&v).starts_with(REFUSED), "{v}");
    }
    let v = skill(&app, &says(&kakao, &format!("연결 {}", other_code(&code)))).await;
    assert!(text(&v).starts_with(REFUSED), "{v}");
    let status = app.get("/v1/me/kakao-link", Some(&token)).await.ok();
    assert_eq!(status["linked"], false);

    // The "계정 연결" block with a sys.number parameter: JSON in a string, and the typed digits.
    let block = payload(
        &kakao,
        &format!("코드 {code}"),
        "계정 연결",
        json!({"code": format!("{{\"amount\": {}, \"unit\": null}}", code.parse::<u32>().unwrap())}),
        json!({"code": {"origin": code, "value": format!("{{\"amount\": {}, \"unit\": null}}", code.parse::<u32>().unwrap()), "groupName": ""}}),
    );
    let v = skill(&app, &block).await;
    assert!(text(&v).starts_with(LINKED), "{v}");
    let status = app.get("/v1/me/kakao-link", Some(&token)).await.ok();
    assert_eq!(status["linked"], true);
    let v = skill(&app, &says(&kakao, "내 응모")).await;
    assert!(text(&v).contains("아직 응모한 래플이 없어요"), "{v}");

    // Used once: another Kakao user cannot use it again.
    let stranger = new_user_key();
    let v = skill(&app, &says(&stranger, &format!("연결 {code}"))).await;
    assert!(text(&v).starts_with(REFUSED), "{v}");
    let v = skill(&app, &says(&stranger, "내 응모")).await;
    assert!(text(&v).starts_with(LINK_FIRST), "{v}");

    // Guessing is cut off after ten tries per Kakao user in ten minutes, even a right code.
    let guesser = new_user_key();
    let right = link_code(&app, &token).await;
    for _ in 0..10 {
        let v = skill(
            &app,
            &says(&guesser, &format!("연결 {}", other_code(&right))),
        )
        .await;
        assert!(text(&v).starts_with(REFUSED), "{v}");
    }
    let v = skill(&app, &says(&guesser, &format!("연결 {right}"))).await;
    assert!(text(&v).contains("너무 여러 번"), "{v}");
    // …and the code still works for someone else, once the account's owner agreed to replace
    // the existing link (see `an_existing_link_is_not_replaced_without_consent`).
    let v = skill(&app, &says(&stranger, &right)).await;
    assert!(text(&v).contains(ELSEWHERE), "{v}");
    let right = link_code_with(&app, &token, Some(json!({"replace": true}))).await;
    let v = skill(&app, &says(&stranger, &right)).await;
    assert!(text(&v).starts_with(LINKED), "{v}");
    // One Kakao user per account: the new link replaced the first.
    let v = skill(&app, &says(&kakao, "내 응모")).await;
    assert!(text(&v).starts_with(LINK_FIRST), "{v}");

    // Unlinking from the app, and from KakaoTalk.
    let r = app
        .call(Method::DELETE, "/v1/me/kakao-link", Some(&token), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let v = skill(&app, &says(&stranger, "내 응모")).await;
    assert!(text(&v).starts_with(LINK_FIRST), "{v}");
    let code = link_code(&app, &token).await;
    let v = skill(&app, &says(&kakao, &format!("연결 {code}"))).await;
    assert!(text(&v).starts_with(LINKED), "{v}");
    let v = skill(&app, &says(&kakao, "연결 해제")).await;
    assert!(text(&v).contains("연결을 끊었어요"), "{v}");
    assert_eq!(
        app.get("/v1/me/kakao-link", Some(&token)).await.ok()["linked"],
        false
    );

    // Deleting the account unlinks it in the same transaction.
    let code = link_code(&app, &token).await;
    let v = skill(&app, &says(&kakao, &format!("연결 {code}"))).await;
    assert!(text(&v).starts_with(LINKED), "{v}");
    let r = app
        .call(
            Method::DELETE,
            "/v1/me",
            Some(&token),
            Some(json!({"password": "a-good-password-1"})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let v = skill(&app, &says(&kakao, "내 응모")).await;
    assert!(text(&v).starts_with(LINK_FIRST), "{v}");
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM kakao_links) + (SELECT count(*) FROM kakao_link_codes)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(left, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_linked_kakao_user_reads_their_entries_and_results() {
    let chain = TestChain::start().await;
    let app = TestApp::spawn_with(|env| {
        chain.configure(env);
        configure(env);
    })
    .await;
    let token = app.buyer().await;
    let kakao = new_user_key();
    let code = link_code(&app, &token).await;
    let v = skill(&app, &says(&kakao, &format!("연결 {code}"))).await;
    assert!(text(&v).starts_with(LINKED), "{v}");
    let enter = |id: String| {
        let (app, token) = (&app, &token);
        async move {
            let r = app
                .call(
                    Method::POST,
                    &format!("/v1/raffles/{id}/entry"),
                    Some(token),
                    None,
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.body);
        }
    };
    let (seller, product) = anchored_product(&app, &chain, 100).await;
    let open = open_raffle(&app, &seller, &product, 1, Duration::from_secs(3600)).await;
    enter(open.clone()).await;
    let drawn = open_raffle(&app, &seller, &product, 1, Duration::from_secs(4)).await;
    enter(drawn.clone()).await;

    let v = skill(&app, &says(&kakao, "내 응모")).await;
    let items = v["template"]["outputs"][0]["listCard"]["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 2, "{v}");
    assert_eq!(
        items[0]["messageText"],
        format!("래플 {drawn}"),
        "newest first"
    );
    assert_eq!(items[1]["messageText"], format!("래플 {open}"));
    for item in &items {
        assert_eq!(item["title"], "아더에러 x 푸마 스피드캣");
        let d = item["description"].as_str().unwrap();
        assert!(d.starts_with("결과 대기 ·"), "{v}");
    }
    let d = items[1]["description"].as_str().unwrap();
    assert!(
        d.ends_with("마감") && d.contains("월 "),
        "the closing time in Korean: {d}"
    );

    // The short raffle closes and is drawn: its only entrant wins.
    tokio::time::sleep(Duration::from_secs(5)).await;
    drive_draw(&app, &chain, &drawn).await;
    let v = skill(
        &app,
        &payload(&kakao, "내 응모", "내 응모", json!({}), json!({})),
    )
    .await;
    let items = v["template"]["outputs"][0]["listCard"]["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items[0]["messageText"], format!("래플 {drawn}"));
    assert!(
        items[0]["description"].as_str().unwrap().contains("당첨!"),
        "{v}"
    );
    assert!(
        items[1]["description"]
            .as_str()
            .unwrap()
            .starts_with("결과 대기"),
        "{v}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_slow_answer_becomes_the_fallback_well_inside_five_seconds() {
    let app = TestApp::spawn_with(|env| {
        configure(env);
        env.insert("KAKAO_SKILL_TIMEOUT".into(), "300ms".into());
    })
    .await;
    let kakao = new_user_key();
    // Hold the links table so that "내 응모" cannot read it.
    let mut blocker = app.db.begin().await.unwrap();
    sqlx::query("LOCK TABLE kakao_links IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let started = Instant::now();
    let v = skill(&app, &says(&kakao, "내 응모")).await;
    let took = started.elapsed();
    assert!(text(&v).starts_with(FALLBACK), "{v}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "{took:?}"
    );
    blocker.rollback().await.unwrap();
    let v = skill(&app, &says(&kakao, "내 응모")).await;
    assert!(text(&v).starts_with(LINK_FIRST), "{v}");
    app.stop().await;
}
