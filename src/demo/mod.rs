//! Demo data for the run command: a buyer, a seller and an admin a newcomer can log in as, the
//! seller's anchored limited editions, an open raffle, and a raffle of the shortest length a
//! raffle may have (`MIN_RAFFLE_WINDOW`, five minutes) that is then drawn and paid, and two banner
//! ads on the home page. Idempotent: running it again changes nothing. [`corpus`] generates the
//! listings (and the catalogue search relevance is measured on).

pub mod corpus;

use chrono::NaiveDate;

use crate::accounts::{self, Accounts, Role, SeedPerson};
use crate::catalogue::{Catalogue, ProductInput};

pub struct DemoAccount {
    pub email: &'static str,
    pub password: &'static str,
    pub role: Role,
}

pub const BUYER: DemoAccount = DemoAccount {
    email: "buyer@demo.truffle.kr",
    password: "truffle-demo-buyer",
    role: Role::Buyer,
};
pub const SELLER: DemoAccount = DemoAccount {
    email: "seller@demo.truffle.kr",
    password: "truffle-demo-seller",
    role: Role::Seller,
};
pub const ADMIN: DemoAccount = DemoAccount {
    email: "admin@demo.truffle.kr",
    password: "truffle-demo-admin",
    role: Role::Admin,
};

/// The demo seller's limited editions: signed with a custodial key and anchored by the worker
/// within seconds of start-up, so their proof bundles verify at once.
fn demo_products() -> Vec<ProductInput> {
    let p = |name: &str,
             brand: &str,
             category: &str,
             edition_size: u32,
             price: u64,
             sku: Option<&str>,
             description: &str| ProductInput {
        name: name.into(),
        brand: brand.into(),
        category: category.into(),
        edition_size,
        retail_price_krw: price,
        description: description.into(),
        sku: sku.map(Into::into),
        image_sha256s: vec![],
        tags: vec![],
    };
    vec![
        p(
            "나이키 덩크 로우 레트로 판다",
            "Nike",
            "sneakers",
            500,
            129_000,
            Some("DD1391-100"),
            "흰색과 검은색 가죽 어퍼의 덩크 로우. 한정 수량 발매.",
        ),
        p(
            "젠틀몬스터 x 메종 마르지엘라 MM001 선글라스",
            "Gentle Monster",
            "eyewear",
            300,
            389_000,
            Some("MM001-01"),
            "메종 마르지엘라 협업 한정판 선글라스.",
        ),
        p(
            "아더에러 x 푸마 스피드캣",
            "Ader Error",
            "sneakers",
            1_000,
            159_000,
            None,
            "Ader Error와 Puma의 협업 스피드캣, 국내 단독 래플.",
        ),
    ]
}

/// Demo entrants for the raffle that gets drawn (with the demo buyer).
const ENTRANTS: usize = 5;

/// How many generated products the demo adds, so that search has something to find.
const SEARCH_PRODUCTS: usize = 150;

/// Products from the generated catalogue (`corpus`), after the three above.
fn search_products() -> Vec<ProductInput> {
    corpus::generate(SEARCH_PRODUCTS, 2026)
        .iter()
        .map(|p| p.input())
        .collect()
}

/// A delivery address for a demo person: paying for a win needs one.
fn demo_address(recipient: &str, phone: &str) -> accounts::DeliveryAddress {
    accounts::DeliveryAddress {
        recipient: recipient.to_owned(),
        phone: phone.to_owned(),
        postal_code: "06236".to_owned(),
        address: "서울특별시 강남구 테헤란로 152".to_owned(),
        address_detail: Some("12층".to_owned()),
    }
}

pub async fn seed(accounts: &Accounts, catalogue: &Catalogue) -> anyhow::Result<()> {
    let people = [
        (&BUYER, "김민지", "01000000001", (1998, 3, 14), "female"),
        (&SELLER, "박서준", "01000000002", (1989, 11, 2), "male"),
    ];
    let mut seller_id = None;
    for (account, name, phone, (y, m, d), gender) in people {
        let hash = accounts::password::hash(account.password.to_owned()).await?;
        let id = accounts::seed_person(
            accounts,
            SeedPerson {
                email: account.email,
                password_hash: &hash,
                name,
                phone,
                birth_date: NaiveDate::from_ymd_opt(y, m, d).expect("valid demo date"),
                gender,
                role: account.role,
            },
        )
        .await?;
        accounts::seed_delivery_address(accounts, id, demo_address(name, phone)).await?;
        if account.role == Role::Seller {
            seller_id = Some(id);
        }
    }
    if let Some(seller) = seller_id {
        let existing = catalogue
            .count_for_seller(seller)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if existing == 0 {
            for product in demo_products().into_iter().chain(search_products()) {
                catalogue
                    .create(seller, product)
                    .await
                    .map_err(|e| anyhow::anyhow!("demo product: {e}"))?;
            }
        }
    }
    let hash = accounts::password::hash("truffle-demo-entrant".to_owned()).await?;
    for i in 1..=ENTRANTS {
        let id = accounts::seed_person(
            accounts,
            SeedPerson {
                email: &format!("entrant{i}@demo.truffle.kr"),
                password_hash: &hash,
                name: &format!("응모자{i}"),
                phone: &format!("010000001{i:02}"),
                birth_date: NaiveDate::from_ymd_opt(1990 + i as i32, 5, 1)
                    .expect("valid demo date"),
                gender: if i % 2 == 0 { "female" } else { "male" },
                role: Role::Buyer,
            },
        )
        .await?;
        accounts::seed_delivery_address(
            accounts,
            id,
            demo_address(&format!("응모자{i}"), "010-0000-0100"),
        )
        .await?;
    }
    if accounts::store::find_login(&accounts.db, ADMIN.email)
        .await?
        .is_none()
    {
        accounts::create_unverified_user(&accounts.db, ADMIN.email, ADMIN.password, Role::Admin)
            .await?;
    }
    tracing::info!(
        buyer = BUYER.email,
        seller = SELLER.email,
        admin = ADMIN.email,
        "demo accounts ready (passwords in the README)"
    );
    Ok(())
}

/// Two banner campaigns on the home page (weights 70 and 30), running for a year, so that
/// `GET /v1/ads?placement=home_top` shows banners. Does nothing once any campaign exists.
pub async fn ads(accounts: &Accounts, ads: &crate::ads::Ads) -> anyhow::Result<()> {
    use crate::ads::NewCampaign;

    let (existing, _) = ads
        .list(None, None, 1)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let admin = accounts::store::find_login(&accounts.db, ADMIN.email).await?;
    let (true, Some(admin)) = (existing.is_empty(), admin) else {
        return Ok(());
    };
    let now = chrono::Utc::now();
    let campaign = |name: &str, image: &str, target: &str, weight: i64| NewCampaign {
        name: name.into(),
        image_url: image.into(),
        target_url: target.into(),
        placement: "home_top".into(),
        starts_at: Some(now),
        ends_at: now + chrono::Duration::days(365),
        weight: Some(weight),
        paused: None,
    };
    for new in [
        campaign(
            "데모: 나이키 덩크 로우 래플",
            "https://placehold.co/1200x300/png?text=Nike+Dunk+Low+Raffle",
            "https://www.nike.com/kr/launch",
            70,
        ),
        campaign(
            "데모: 젠틀몬스터 한정판",
            "https://placehold.co/1200x300/png?text=Gentle+Monster+Limited",
            "https://www.gentlemonster.com/kr/",
            30,
        ),
    ] {
        ads.create(admin.id, new)
            .await
            .map_err(|e| anyhow::anyhow!("demo ad: {e}"))?;
    }
    tracing::info!("demo banner ads ready: GET /v1/ads?placement=home_top");
    Ok(())
}

/// Open raffles on generated listings besides the two below (closing in 2 to 9 days).
const MORE_RAFFLES: usize = 8;

/// Once the demo products are anchored: an open raffle (a week long) and a short one that the
/// worker draws; its first winner then pays with the dev provider. The short one obeys the rule
/// every raffle does: it runs the minimum window, so it is drawn about five minutes after start-up. Runs in the background of
/// `truffle serve --demo`; does nothing when the demo raffles exist already.
pub async fn raffles(state: crate::app::AppState) -> anyhow::Result<()> {
    use crate::accounts::CurrentUser;
    use crate::raffles::NewRaffle;
    use std::time::Duration;

    let as_user = |id: uuid::Uuid, role: Role| CurrentUser {
        id,
        session_id: uuid::Uuid::nil(),
        role,
        identity_verified: true,
    };
    let Some(seller) = accounts::store::find_login(&state.db, SELLER.email).await? else {
        return Ok(());
    };
    let products = state.catalogue.clone();
    let listed = products
        .product_ids_of(seller.id, 2)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let [open_product, drawn_product, ..] = listed[..] else {
        return Ok(());
    };
    if !state
        .raffles
        .list(Some(drawn_product), None, 1)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .0
        .is_empty()
    {
        return Ok(());
    }
    // Raffles need anchored products: wait for the anchoring worker.
    for _ in 0..120 {
        let p = products
            .product(drawn_product)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let q = products
            .product(open_product)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if p.chain.status.is_anchored() && q.chain.status.is_anchored() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let now = chrono::Utc::now();
    let seller_user = as_user(seller.id, Role::Seller);
    // Both products' units, labelled: the drawn one's with a GTIN (GS1 Digital Link labels),
    // the open one's with short unit URLs.
    for (product, gtin) in [(drawn_product, Some(DEMO_GTIN)), (open_product, None)] {
        let issued = state
            .units
            .issue(
                &seller_user,
                product,
                crate::units::IssueRequest {
                    gtin: gtin.map(str::to_owned),
                },
            )
            .await;
        match issued {
            Ok(set) => tracing::info!(%product, labels = %set.labels_url, "demo units issued"),
            Err(e) => tracing::warn!(%product, error = %e, "demo units not issued"),
        }
    }
    let open = state
        .raffles
        .create(
            &seller_user,
            NewRaffle {
                product_id: open_product,
                price_krw: None,
                winners: 10,
                opens_at: now,
                closes_at: now + chrono::Duration::days(7),
                payment_window_hours: Some(48),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo raffle: {e}"))?;
    let drawn = state
        .raffles
        .create(
            &seller_user,
            NewRaffle {
                product_id: drawn_product,
                price_krw: None,
                winners: 2,
                opens_at: now,
                // A few seconds over the minimum: the server checks it against its own clock, a
                // moment later.
                closes_at: now + crate::raffles::MIN_RAFFLE_WINDOW + chrono::Duration::seconds(10),
                payment_window_hours: Some(48),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo raffle: {e}"))?;
    // Wait for both commitments to be on chain, then enter.
    for _ in 0..60 {
        let a = state
            .raffles
            .raffle(open.id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let b = state
            .raffles
            .raffle(drawn.id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if a.state == crate::raffles::RaffleState::Open
            && b.state == crate::raffles::RaffleState::Open
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut people = vec![BUYER.email.to_owned()];
    people.extend((1..=ENTRANTS).map(|i| format!("entrant{i}@demo.truffle.kr")));
    for (n, email) in people.iter().enumerate() {
        let Some(person) = accounts::store::find_login(&state.db, email).await? else {
            continue;
        };
        let user = as_user(person.id, Role::Buyer);
        state
            .raffles
            .enter(&user, drawn.id)
            .await
            .map_err(|e| anyhow::anyhow!("demo entry: {e}"))?;
        if n < 3 {
            state
                .raffles
                .enter(&user, open.id)
                .await
                .map_err(|e| anyhow::anyhow!("demo entry: {e}"))?;
        }
    }
    // More open raffles, on generated listings, for recommendations and the chatbot to show.
    let more = products
        .product_ids_of(seller.id, 3 + MORE_RAFFLES as i64)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for _ in 0..120 {
        let views = products
            .products(&more[3.min(more.len())..])
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if views.iter().all(|p| p.chain.status.is_anchored()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for (i, &product) in more.iter().skip(3).enumerate() {
        let result = state
            .raffles
            .create(
                &seller_user,
                NewRaffle {
                    product_id: product,
                    price_krw: None,
                    winners: 5,
                    opens_at: now,
                    closes_at: now + chrono::Duration::days(2 + i as i64),
                    payment_window_hours: Some(48),
                },
            )
            .await;
        if let Err(e) = result {
            tracing::warn!(%product, error = %e, "demo raffle not created");
        }
    }
    // The draw happens on chain after closing (the minimum window, then a few blocks); then the
    // first winner pays.
    for _ in 0..1200 {
        let b = state
            .raffles
            .raffle(drawn.id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if b.state == crate::raffles::RaffleState::Drawn {
            let unpaid = state
                .orders
                .unpaid_in_raffle(drawn.id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for &(order, buyer, amount) in unpaid.iter().take(2) {
                state
                    .orders
                    .pay(
                        &as_user(buyer, Role::Buyer),
                        order,
                        &format!("dev_demo_{}", order.simple()),
                        amount,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("demo payment: {e}"))?;
            }
            tracing::info!(open = %open.id, drawn = %drawn.id, "demo raffles ready: one open, one drawn and paid");
            owners(&state, &seller_user, &unpaid).await?;
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    anyhow::bail!("the demo raffle was not drawn within ten minutes")
}

/// The demo's GTIN (a GTIN-13 with Korea's 880 prefix and a valid check digit): the drawn raffle's
/// product's labels are GS1 Digital Links.
pub const DEMO_GTIN: &str = "8801234567893";

/// Owners of the drawn raffle's units: the seller ships both winners' orders and records units 1
/// and 2; the first winner hands unit 1 on (to the demo buyer, or to entrant 1 when the demo buyer
/// is that winner), who accepts; the second winner reports unit 2 lost.
async fn owners(
    state: &crate::app::AppState,
    seller: &crate::accounts::CurrentUser,
    orders: &[(uuid::Uuid, uuid::Uuid, i64)],
) -> anyhow::Result<()> {
    use crate::accounts::CurrentUser;
    let buyer = |id: uuid::Uuid| CurrentUser {
        id,
        session_id: uuid::Uuid::nil(),
        role: Role::Buyer,
        identity_verified: true,
    };
    let err = |e: crate::units::Error| anyhow::anyhow!("demo owners: {e}");
    let mut codes = Vec::new();
    for (serial, &(order, _, _)) in (1..).zip(orders.iter().take(2)) {
        state
            .orders
            .ship(seller, order, "CJ대한통운", &format!("55{serial:010}"))
            .await
            .map_err(|e| anyhow::anyhow!("demo shipment: {e}"))?;
        let owned = state
            .units
            .assign_to_order(seller, order, serial)
            .await
            .map_err(err)?;
        codes.push(owned.code);
    }
    let (Some(first), Some(&(_, first_buyer, _))) = (codes.first(), orders.first()) else {
        return Ok(());
    };
    let demo_buyer = accounts::store::find_login(&state.db, BUYER.email).await?;
    let to = match demo_buyer {
        Some(b) if b.id != first_buyer => BUYER.email.to_owned(),
        _ => "entrant1@demo.truffle.kr".to_owned(),
    };
    let Some(recipient) = accounts::store::find_login(&state.db, &to).await? else {
        return Ok(());
    };
    let offer = state
        .units
        .offer(
            &buyer(first_buyer),
            first,
            crate::units::owners::OfferRequest { to_email: to },
        )
        .await
        .map_err(err)?;
    state
        .units
        .accept(&buyer(recipient.id), offer.id)
        .await
        .map_err(err)?;
    if let (Some(second), Some(&(_, second_buyer, _))) = (codes.get(1), orders.get(1)) {
        state
            .units
            .report(
                &buyer(second_buyer),
                second,
                Some(crate::units::owners::ReportKind::Lost),
            )
            .await
            .map_err(err)?;
    }
    let base = &state.units.public_base_url();
    tracing::info!(
        transferred = %format!("{base}/01/{DEMO_GTIN:0>14}/21/{first}"),
        lost = %codes.get(1).map(|c| format!("{base}/01/{DEMO_GTIN:0>14}/21/{c}")).unwrap_or_default(),
        "demo units ready: unit 1 changed hands, unit 2 is reported lost"
    );
    Ok(())
}
