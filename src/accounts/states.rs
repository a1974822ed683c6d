//! The accounts domain's state machines: an account, an identity verification and a seller
//! application. The database holds the same names, with a CHECK listing them.
//!
//! ```text
//! account:       active ──deleted (erasure)──▶ deleted
//!
//! verification:  sent ──right code──▶ verified ──sign-up or reset uses it──▶ consumed
//!                  │
//!                  └──expired, too many attempts, provider rejected──▶ failed (with its failure)
//!
//! application:   pending ──admin approves──▶ approved
//!                  │ │                         │
//!                  │ └──admin rejects──▶ rejected
//!                  └──────────── account deleted ┴──▶ closed
//! ```
//!
//! `deleted`, `failed`, `consumed`, `rejected` and `closed` are final.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::state::state_machine;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    /// Erased: the row stays so that ids other records hold keep pointing somewhere.
    Deleted,
}

state_machine! {
    UserStatus { Active = "active", Deleted = "deleted" }
    moves(from, next) { from == UserStatus::Active && next == UserStatus::Deleted }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum VerificationState {
    /// The code is sent; the person has not typed the right one yet.
    Sent,
    /// The provider confirmed the person; sign-up or reset may use it once, soon.
    Verified,
    /// Ended without a verified person (see its failure).
    Failed,
    /// Used by a sign-up or a password reset; what it proved is erased.
    Consumed,
}

state_machine! {
    VerificationState { Sent = "sent", Verified = "verified", Failed = "failed", Consumed = "consumed" }
    moves(from, next) {
        use VerificationState::*;
        match from {
            Sent => matches!(next, Verified | Failed),
            Verified => matches!(next, Consumed),
            Failed | Consumed => false,
        }
    }
}

/// Why a verification failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum VerificationFailure {
    /// The code was not confirmed in time.
    Expired,
    TooManyAttempts,
    /// The provider refused to send a code, or no longer knows the verification.
    Rejected,
}

state_machine!(VerificationFailure {
    Expired = "expired",
    TooManyAttempts = "too_many_attempts",
    Rejected = "rejected",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Waiting for an admin.
    Pending,
    /// The applicant is a seller.
    Approved,
    /// Turned down, with a reason for the applicant.
    Rejected,
    /// The account was deleted; its business registration number is free again.
    Closed,
}

state_machine! {
    ApplicationStatus {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        Closed = "closed",
    }
    moves(from, next) {
        use ApplicationStatus::*;
        match from {
            Pending => matches!(next, Approved | Rejected | Closed),
            Approved => matches!(next, Closed),
            Rejected | Closed => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_sent_verification_is_confirmed_and_only_a_verified_one_is_used() {
        assert_eq!(
            VerificationState::sources(VerificationState::Verified),
            ["sent"]
        );
        assert_eq!(
            VerificationState::sources(VerificationState::Failed),
            ["sent"]
        );
        assert_eq!(
            VerificationState::sources(VerificationState::Consumed),
            ["verified"]
        );
        assert!(VerificationState::sources(VerificationState::Sent).is_empty());
    }

    #[test]
    fn decisions_are_made_on_pending_applications_and_deletion_closes_the_live_ones() {
        assert_eq!(
            ApplicationStatus::sources(ApplicationStatus::Approved),
            ["pending"]
        );
        assert_eq!(
            ApplicationStatus::sources(ApplicationStatus::Rejected),
            ["pending"]
        );
        assert_eq!(
            ApplicationStatus::sources(ApplicationStatus::Closed),
            ["pending", "approved"]
        );
        let finals: Vec<_> = ApplicationStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            [ApplicationStatus::Rejected, ApplicationStatus::Closed]
        );
        assert!(UserStatus::Deleted.is_final() && !UserStatus::Active.is_final());
    }

    #[test]
    fn names_match_the_database_and_the_wire() {
        let first = include_str!("../../migrations/20261121000001_accounts.up.sql");
        let later = include_str!("../../migrations/20261202010300_one_business_number.up.sql");
        let names = UserStatus::ALL
            .into_iter()
            .map(|s| (serde_json::to_value(s).unwrap(), s.as_str(), first))
            .chain(
                VerificationState::ALL
                    .into_iter()
                    .map(|s| (serde_json::to_value(s).unwrap(), s.as_str(), first)),
            )
            .chain(
                VerificationFailure::ALL
                    .into_iter()
                    .map(|s| (serde_json::to_value(s).unwrap(), s.as_str(), first)),
            )
            .chain(
                ApplicationStatus::ALL
                    .into_iter()
                    .map(|s| (serde_json::to_value(s).unwrap(), s.as_str(), later)),
            );
        for (wire, name, migration) in names {
            assert_eq!(wire, name);
            assert!(migration.contains(&format!("'{name}'")), "{name}");
        }
    }
}
