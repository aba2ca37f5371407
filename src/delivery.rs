//! Outbound delivery: what a provider's receipt does to a message's [`Delivery`] state,
//! and when a send that failed is tried again ([`RetryPolicy`]).
//!
//! Pure functions of the current state, the report and `now`. Invariants they keep:
//! - a delivery state only moves forward: pending → sent → delivered → read. A late or
//!   repeated receipt (a "sent" after a "read", a redelivered webhook) changes nothing;
//! - a failure after the customer's device had the message (delivered or read) changes
//!   nothing; any other failure ends the delivery as failed;
//! - a send the host's transport could not make is tried again on the schedule, and
//!   failed after the last try.

use chrono::{DateTime, TimeDelta, Utc};

use crate::channels::{Receipt, ReceiptStatus};
use crate::message::Delivery;

/// When a send that the host's transport could not make is tried again
/// ([`crate::Desk::mark_failed`]): the wait after the first failure, the second, and so
/// on. After as many failures as there are waits, plus one, the message is failed and
/// the agent told ([`crate::Effect::DeliveryFailed`]).
///
/// ```
/// use chrono::{TimeDelta, DateTime};
/// use throughline::delivery::RetryPolicy;
/// let policy = RetryPolicy::default();
/// let now = DateTime::from_timestamp(1_772_442_000, 0).unwrap();
/// assert_eq!(policy.next_try(1, now), Some(now + TimeDelta::minutes(1)));
/// assert_eq!(policy.next_try(5, now), None); // four retries, then failed
/// assert_eq!(RetryPolicy::none().next_try(1, now), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait before each retry, in order.
    pub backoff: Vec<TimeDelta>,
}

impl Default for RetryPolicy {
    /// 1 minute, 5 minutes, 30 minutes, 2 hours.
    fn default() -> Self {
        RetryPolicy {
            backoff: vec![
                TimeDelta::minutes(1),
                TimeDelta::minutes(5),
                TimeDelta::minutes(30),
                TimeDelta::hours(2),
            ],
        }
    }
}

impl RetryPolicy {
    /// No retries: the first failure fails the message.
    pub fn none() -> Self {
        RetryPolicy {
            backoff: Vec::new(),
        }
    }

    /// When to try again after the `failures`-th failure (counting from 1), or `None`
    /// when the tries are used up.
    pub fn next_try(&self, failures: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let i = usize::try_from(failures.checked_sub(1)?).ok()?;
        self.backoff.get(i).map(|wait| now + *wait)
    }
}

/// How far a delivery got: the order receipts may only move it along.
fn progress(d: Option<&Delivery>) -> u8 {
    match d {
        None | Some(Delivery::Pending) | Some(Delivery::Retrying { .. }) => 0,
        Some(Delivery::Sent { .. }) => 1,
        Some(Delivery::Delivered { .. }) => 2,
        Some(Delivery::Read { .. }) => 3,
        Some(Delivery::Failed { .. }) => 4,
    }
}

/// The provider id a delivery state already knows.
fn known_provider_id(d: Option<&Delivery>) -> Option<String> {
    match d {
        Some(
            Delivery::Sent { provider_id, .. }
            | Delivery::Delivered { provider_id, .. }
            | Delivery::Read { provider_id, .. },
        ) => provider_id.clone(),
        _ => None,
    }
}

/// The state `receipt` moves `current` to, or `None` when it changes nothing (see the
/// module invariants).
pub(crate) fn after_receipt(
    current: Option<&Delivery>,
    receipt: &Receipt,
    now: DateTime<Utc>,
) -> Option<Delivery> {
    let at = receipt.at.unwrap_or(now);
    let provider_id = known_provider_id(current).or_else(|| {
        let p = receipt.provider_id.trim();
        (!p.is_empty()).then(|| p.to_string())
    });
    let have = progress(current);
    let (rank, next) = match receipt.status {
        ReceiptStatus::Queued => return None,
        ReceiptStatus::Sent => (1, Delivery::Sent { provider_id, at }),
        ReceiptStatus::Delivered => (2, Delivery::Delivered { provider_id, at }),
        ReceiptStatus::Read => (3, Delivery::Read { provider_id, at }),
        ReceiptStatus::Failed => {
            if have >= 2 {
                return None;
            }
            let reason = receipt
                .error
                .clone()
                .unwrap_or_else(|| "the provider reported the message as not delivered".into());
            return Some(Delivery::Failed { reason, at });
        }
    };
    (rank > have).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_772_442_000 + secs, 0).unwrap()
    }

    fn receipt(status: ReceiptStatus) -> Receipt {
        Receipt {
            provider_id: "SM1".into(),
            message: None,
            status,
            at: Some(t(10)),
            error: (status == ReceiptStatus::Failed).then(|| "30003: Unreachable".into()),
        }
    }

    #[test]
    fn receipts_only_move_a_delivery_forward() {
        let sent = after_receipt(
            Some(&Delivery::Pending),
            &receipt(ReceiptStatus::Sent),
            t(0),
        )
        .expect("pending → sent");
        assert_eq!(
            sent,
            Delivery::Sent {
                provider_id: Some("SM1".into()),
                at: t(10)
            }
        );
        let read =
            after_receipt(Some(&sent), &receipt(ReceiptStatus::Read), t(0)).expect("sent → read");
        assert!(matches!(read, Delivery::Read { .. }));
        // A late "delivered" or "sent", or a repeated "read", changes nothing.
        for late in [
            ReceiptStatus::Delivered,
            ReceiptStatus::Sent,
            ReceiptStatus::Read,
        ] {
            assert_eq!(after_receipt(Some(&read), &receipt(late), t(0)), None);
        }
        assert_eq!(
            after_receipt(
                Some(&Delivery::Pending),
                &receipt(ReceiptStatus::Queued),
                t(0)
            ),
            None
        );
    }

    #[test]
    fn a_failure_counts_until_the_device_had_the_message() {
        let sent = Delivery::Sent {
            provider_id: Some("SM1".into()),
            at: t(0),
        };
        let failed = after_receipt(Some(&sent), &receipt(ReceiptStatus::Failed), t(0));
        assert_eq!(
            failed,
            Some(Delivery::Failed {
                reason: "30003: Unreachable".into(),
                at: t(10)
            })
        );
        let delivered = Delivery::Delivered {
            provider_id: Some("SM1".into()),
            at: t(0),
        };
        assert_eq!(
            after_receipt(Some(&delivered), &receipt(ReceiptStatus::Failed), t(0)),
            None
        );
        let failed = failed.expect("failed");
        assert_eq!(
            after_receipt(Some(&failed), &receipt(ReceiptStatus::Read), t(0)),
            None,
            "failed is final"
        );
    }

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        let policy = RetryPolicy {
            backoff: vec![TimeDelta::minutes(1), TimeDelta::minutes(10)],
        };
        assert_eq!(policy.next_try(0, t(0)), None);
        assert_eq!(policy.next_try(1, t(0)), Some(t(60)));
        assert_eq!(policy.next_try(2, t(0)), Some(t(600)));
        assert_eq!(policy.next_try(3, t(0)), None);
    }
}
