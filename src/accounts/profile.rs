//! The profile (MyPage): what a signed-in user reads and changes of their own account.

use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{check_nickname, check_password};
use super::{Accounts, CurrentUser, DeliveryAddress, Error, Profile};
use super::{password, person, store};
use crate::http::Refuse as _;

/// For PATCH bodies: tells a missing field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    /// Display and delivery name. The verified legal name is kept apart and cannot change.
    #[schema(example = "김민수", min_length = 1, max_length = 50)]
    pub name: Option<String>,
    /// 2 to 20 characters once trimmed; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "스니커헤드", min_length = 2, max_length = 20)]
    pub nickname: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DeliveryAddress>)]
    pub delivery_address: Option<Option<DeliveryAddress>>,
    pub marketing_consent: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    #[schema(schema_with = password::policy_schema)]
    pub new_password: String,
}

/// A delivery address as it is kept: trimmed fields, a 5-digit postal code, a Korean mobile
/// or landline number as digits.
fn check_address(a: DeliveryAddress) -> Result<DeliveryAddress, Error> {
    let field = |name: &str, value: &str, max: usize| {
        person::clean_text(value, 1, max).ok_or_else(|| {
            Error::invalid(
                &format!("delivery_address.{name}"),
                &format!("must be 1 to {max} characters."),
            )
        })
    };
    let postal_code = a.postal_code.trim().to_owned();
    if postal_code.len() != 5 || !postal_code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(
            "delivery_address.postal_code",
            "must be 5 digits.",
        ));
    }
    let phone = person::normalize_mobile(&a.phone)
        .or_else(|| {
            // Landlines are fine for a delivery: digits and dashes, 9 to 11 digits.
            let digits: String = a.phone.chars().filter(char::is_ascii_digit).collect();
            (a.phone.chars().all(|c| c.is_ascii_digit() || c == '-')
                && (9..=11).contains(&digits.len()))
            .then_some(digits)
        })
        .ok_or_else(|| {
            Error::invalid("delivery_address.phone", "must be a Korean phone number.")
        })?;
    Ok(DeliveryAddress {
        recipient: field("recipient", &a.recipient, 50)?,
        phone,
        postal_code,
        address: field("address", &a.address, 200)?,
        address_detail: a
            .address_detail
            .map(|d| field("address_detail", &d, 100))
            .transpose()?,
    })
}

/// The user's profile ([`Error::NotActive`] once the account is gone).
pub async fn profile(accounts: &Accounts, user_id: Uuid) -> Result<Profile, Error> {
    let row = store::find_user(&accounts.db, user_id)
        .await?
        .ok_or(Error::NotActive)?;
    Ok(row.into())
}

/// Changes the fields given; the others stay as they are.
pub async fn update(
    accounts: &Accounts,
    user_id: Uuid,
    req: ProfileUpdate,
) -> Result<Profile, Error> {
    let change = store::ProfileChange {
        name: req
            .name
            .map(|n| {
                person::clean_text(&n, 1, 50)
                    .ok_or_else(|| Error::invalid("name", "must be 1 to 50 characters."))
            })
            .transpose()?,
        nickname: req
            .nickname
            .map(|n| n.as_deref().map(check_nickname).transpose())
            .transpose()?,
        delivery_address: req
            .delivery_address
            .map(|a| a.map(check_address).transpose())
            .transpose()?,
        marketing_consent: req.marketing_consent,
    };
    let row = store::update_profile(&accounts.db, user_id, change)
        .await?
        .ok_or(Error::NotActive)?;
    Ok(row.into())
}

/// Changes the password after checking the current one; every other session ends.
pub async fn change_password(
    accounts: &Accounts,
    user: &CurrentUser,
    req: PasswordChange,
) -> Result<(), Error> {
    let email = store::find_user(&accounts.db, user.id)
        .await?
        .and_then(|u| u.email);
    check_password("new_password", &req.new_password, email.as_deref())?;
    super::confirm_password(accounts, user.id, req.current_password).await?;
    let hash = password::hash_on(&accounts.cpu, req.new_password).await?;
    let mut tx = accounts.db.begin().await?;
    store::set_password(&mut *tx, user.id, &hash).await?;
    store::revoke_sessions(&mut *tx, user.id, Some(user.session_id), "password_changed").await?;
    tx.commit().await?;
    accounts.sessions.forget_user(user.id);
    Ok(())
}
