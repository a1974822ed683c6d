//! Demo data for the run command: a buyer, a seller and an admin a newcomer can log in as.
//! Idempotent: running it again changes nothing.

use chrono::NaiveDate;

use crate::accounts::{self, Accounts, Role, SeedPerson};

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

pub async fn seed(accounts: &Accounts) -> anyhow::Result<()> {
    let people = [
        (&BUYER, "김민지", "01000000001", (1998, 3, 14), "female"),
        (&SELLER, "박서준", "01000000002", (1989, 11, 2), "male"),
    ];
    for (account, name, phone, (y, m, d), gender) in people {
        let hash = accounts::password::hash(account.password.to_owned()).await?;
        accounts::seed_person(
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
