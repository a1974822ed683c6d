//! Account erasure (회원탈퇴), composed above the domains: each domain that holds something of a
//! person offers its own step, and this module runs them in order in one transaction, so that
//! everything is erased or nothing is.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::http::{ApiError, ErrorCode};
use crate::{accounts, catalogue, kakao, orders, raffles, units};

/// Deletes an account inside the caller's transaction.
///
/// A seller's account is refused (`seller_has_open_sales`) while raffles or orders are under
/// way: raffles not yet drawn, orders awaiting payment, paid orders not shipped. Otherwise every
/// product of theirs is delisted, open raffle entries are withdrawn, product views and the
/// Kakao link forgotten; orders stay, detached; last, accounts revoke the sessions and erase the
/// personal data. The account row is locked first, and product and raffle creation hold it
/// (`accounts::hold_active`), so nothing of theirs appears between the check and the commit.
pub async fn delete_account(tx: &mut PgConnection, user_id: Uuid) -> Result<(), ApiError> {
    accounts::lock_for_erasure(&mut *tx, user_id).await?;
    let raffles = raffles::unfinished_of_seller(&mut *tx, user_id).await?;
    let (awaiting, unshipped) = orders::open_sales_of(&mut *tx, user_id).await?;
    if let Some(left) = open_sales_message(raffles, awaiting, unshipped) {
        return Err(ApiError::with_message(ErrorCode::SellerHasOpenSales, left));
    }
    catalogue::delist_all_of_seller(&mut *tx, user_id).await?;
    catalogue::forget(&mut *tx, user_id).await?;
    raffles::withdraw_open_entries(&mut *tx, user_id).await?;
    kakao::forget(&mut *tx, user_id).await?;
    units::forget(&mut *tx, user_id).await?;
    Ok(accounts::erase(&mut *tx, user_id).await?)
}

/// What keeps a seller's account from being deleted, said plainly; `None` when nothing does.
fn open_sales_message(raffles: i64, awaiting: i64, unshipped: i64) -> Option<String> {
    let count = |n: i64, one: &str, many: &str| match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {many}")),
    };
    let left: Vec<String> = [
        count(raffles, "raffle not yet drawn", "raffles not yet drawn"),
        count(
            awaiting,
            "order awaiting payment",
            "orders awaiting payment",
        ),
        count(
            unshipped,
            "paid order not shipped",
            "paid orders not shipped",
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    let list = match left.as_slice() {
        [] => return None,
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    Some(format!(
        "This account still has {list}. Wait for the draws and payments, ship what is paid \
         (or have an admin cancel), then delete the account."
    ))
}

#[cfg(test)]
mod tests {
    use super::open_sales_message as m;

    #[test]
    fn the_refusal_says_what_is_left() {
        assert_eq!(m(0, 0, 0), None);
        assert!(
            m(1, 0, 0)
                .unwrap()
                .contains("still has 1 raffle not yet drawn.")
        );
        assert!(m(2, 1, 3).unwrap().contains(
            "2 raffles not yet drawn, 1 order awaiting payment and 3 paid orders not shipped."
        ));
        assert!(
            m(0, 0, 2)
                .unwrap()
                .contains("still has 2 paid orders not shipped.")
        );
    }
}
