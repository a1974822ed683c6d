//! The one deadline rule, shared by our confirm, the provider's webhook and the expiry pass.
//!
//! A winner may pay until `pay_by`. A confirm that starts before then claims the order for
//! [`CLAIM_HOLD`] (the provider call happens with no row lock held); the payment it brings back
//! counts even if the deadline passes while the provider answers, and the expiry pass leaves a
//! claimed order alone until its claim lapses. Any other payment learned after the deadline (a
//! webhook, a confirm whose claim lapsed) does not count: it is cancelled at the provider and
//! recorded.

use chrono::{DateTime, Duration, Utc};

use super::OrderStatus;

/// How long a confirm in flight holds the order. Longer than the provider client's timeout, so a
/// claim never lapses while its call can still succeed.
pub const CLAIM_HOLD: Duration = Duration::seconds(120);

/// What the rule looks at.
#[derive(Debug, Clone, Copy)]
pub struct Deadline<'a> {
    pub status: OrderStatus,
    pub pay_by: DateTime<Utc>,
    pub paying_key: Option<&'a str>,
    pub paying_until: Option<DateTime<Utc>>,
}

impl Deadline<'_> {
    /// Whether a claim by `payment_key` is live at `now`.
    fn claimed_by(&self, payment_key: &str, now: DateTime<Utc>) -> bool {
        self.paying_key == Some(payment_key) && self.paying_until.is_some_and(|until| now < until)
    }

    /// Whether any claim is live at `now`.
    pub fn claimed(&self, now: DateTime<Utc>) -> bool {
        self.paying_until.is_some_and(|until| now < until)
    }

    /// Whether a confirm may start now (and claim the order).
    pub fn may_start_paying(&self, now: DateTime<Utc>) -> bool {
        self.status == OrderStatus::AwaitingPayment && now < self.pay_by
    }

    /// Whether a completed payment with this key, learned at `now`, makes the order paid.
    pub fn may_become_paid(&self, payment_key: &str, now: DateTime<Utc>) -> bool {
        self.status == OrderStatus::AwaitingPayment
            && (now < self.pay_by || self.claimed_by(payment_key, now))
    }

    /// Whether the expiry pass may end the order at `now`.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == OrderStatus::AwaitingPayment && now >= self.pay_by && !self.claimed(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn order(claim: Option<(&'static str, i64)>) -> Deadline<'static> {
        Deadline {
            status: OrderStatus::AwaitingPayment,
            pay_by: at(0),
            paying_key: claim.map(|c| c.0),
            paying_until: claim.map(|c| at(c.1)),
        }
    }

    #[test]
    fn before_the_deadline_any_payment_counts() {
        let o = order(None);
        assert!(o.may_start_paying(at(-1)));
        assert!(o.may_become_paid("pk", at(-1)));
        assert!(!o.is_overdue(at(-1)));
    }

    #[test]
    fn after_the_deadline_only_the_claiming_confirm_counts_and_only_while_it_holds() {
        let o = order(Some(("pk", 100)));
        assert!(!o.may_start_paying(at(0)));
        assert!(o.may_become_paid("pk", at(50)));
        assert!(
            !o.may_become_paid("other", at(50)),
            "a webhook for another payment is late"
        );
        assert!(!o.may_become_paid("pk", at(100)), "the claim has lapsed");
        assert!(!o.is_overdue(at(50)), "the pass waits for the claim");
        assert!(o.is_overdue(at(100)));
    }

    #[test]
    fn without_a_claim_the_deadline_is_final() {
        let o = order(None);
        assert!(!o.may_become_paid("pk", at(0)));
        assert!(o.is_overdue(at(0)));
    }

    #[test]
    fn only_orders_awaiting_payment_can_become_paid() {
        for status in OrderStatus::ALL
            .into_iter()
            .filter(|s| *s != OrderStatus::AwaitingPayment)
        {
            let o = Deadline {
                status,
                ..order(None)
            };
            assert!(!o.may_become_paid("pk", at(-10)), "{status:?}");
            assert!(!o.may_start_paying(at(-10)), "{status:?}");
            assert!(!o.is_overdue(at(10)), "{status:?}");
        }
    }
}
