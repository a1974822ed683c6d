//! Demo data for the run command: a buyer, a seller and an admin a newcomer can log in as.
//! Idempotent: running it again changes nothing.

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
            for product in demo_products() {
                catalogue
                    .create(seller, product)
                    .await
                    .map_err(|e| anyhow::anyhow!("demo product: {e}"))?;
            }
        }
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
