//! SLA clocks as the Desk stores them: the JSON of [`SlaClocks`], read and written on every
//! operation of a conversation without parsing its event log.
//!
//! The event log only grows (a long conversation's log is most of its record), and the
//! clocks never read it back. So the hot path decodes everything but the log, which stays
//! JSON text, runs the inputs on clocks with an empty log, and appends the new events'
//! JSON to the old text. The result is byte for byte what encoding the whole
//! [`SlaClocks`] gives (a test checks it), so the stored format does not change and
//! [`SlaClocks`] decodes it as before.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::conversation::Priority;
use crate::sla::clock::{MetricClock, SlaClocks};

/// The stored JSON of [`SlaClocks`], field for field, with the event log as text.
#[derive(Deserialize)]
struct Head {
    policy: Option<String>,
    priority: Priority,
    clocks: Vec<MetricClock>,
    events: Box<RawValue>,
    started: bool,
    #[serde(default, with = "crate::serde_time::utc_opt")]
    not_before: Option<DateTime<Utc>>,
}

/// The same, for writing (the field order of [`SlaClocks`]).
#[derive(Serialize)]
struct HeadOut<'a> {
    policy: &'a Option<String>,
    priority: &'a Priority,
    clocks: &'a [MetricClock],
    events: &'a RawValue,
    started: bool,
    not_before: &'a Option<DateTime<Utc>>,
}

/// A conversation's clocks with their stored event log left as JSON text.
#[derive(Debug)]
pub(crate) struct StoredClocks {
    /// The clocks; `clocks.events` holds only the events logged since decoding.
    pub(crate) clocks: SlaClocks,
    /// The log as stored (a JSON array).
    log: Box<RawValue>,
}

impl StoredClocks {
    /// Clocks that never ran.
    pub(crate) fn new() -> StoredClocks {
        StoredClocks {
            clocks: SlaClocks::default(),
            log: empty_log(),
        }
    }

    /// Decodes a stored record's JSON; the event log is checked to be JSON, not parsed.
    pub(crate) fn decode(json: &str) -> serde_json::Result<StoredClocks> {
        let head: Head = serde_json::from_str(json)?;
        Ok(StoredClocks {
            clocks: SlaClocks {
                policy: head.policy,
                priority: head.priority,
                clocks: head.clocks,
                events: Vec::new(),
                started: head.started,
                not_before: head.not_before,
            },
            log: head.events,
        })
    }

    /// Encodes the clocks with the stored log followed by the new events.
    pub(crate) fn encode(&self) -> serde_json::Result<Box<RawValue>> {
        let appended;
        let log: &RawValue = if self.clocks.events.is_empty() {
            &self.log
        } else {
            let new = serde_json::to_string(&self.clocks.events)?;
            // `new` is `[e1,...]`; the stored log is `[...]` (maybe empty, maybe spaced).
            let old = self.log.get().trim_end();
            let old_body = old
                .strip_suffix(']')
                .ok_or_else(|| serde::ser::Error::custom("the stored SLA log is not a list"))?;
            let text = if old_body.trim_end().ends_with('[') {
                new
            } else {
                format!("{old_body},{}", &new[1..])
            };
            appended = RawValue::from_string(text)?;
            &appended
        };
        serde_json::value::to_raw_value(&HeadOut {
            policy: &self.clocks.policy,
            priority: &self.clocks.priority,
            clocks: &self.clocks.clocks,
            events: log,
            started: self.clocks.started,
            not_before: &self.clocks.not_before,
        })
    }
}

fn empty_log() -> Box<RawValue> {
    RawValue::from_string("[]".to_string()).expect("[] is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::{AuthorKind, Basis, ClockInput, Metric, SlaPolicies, SlaPolicy};
    use chrono::TimeDelta;
    use proptest::prelude::*;

    fn policies() -> SlaPolicies {
        SlaPolicies::new()
            .policy(
                SlaPolicy::new("chat")
                    .target_all(Metric::FirstReply, TimeDelta::minutes(5), Basis::Calendar)
                    .target_all(Metric::NextReply, TimeDelta::minutes(10), Basis::Calendar)
                    .target_all(
                        Metric::TotalResolution,
                        TimeDelta::hours(8),
                        Basis::Calendar,
                    ),
            )
            .build()
            .expect("valid policies")
    }

    fn input(kind: u8, at: DateTime<Utc>) -> ClockInput {
        use crate::conversation::Status;
        match kind % 6 {
            0 => ClockInput::Inbound { at },
            1 => ClockInput::Reply {
                at,
                by: AuthorKind::Agent,
            },
            2 => ClockInput::Status {
                at,
                from: Status::Open,
                to: Status::Solved,
            },
            3 => ClockInput::Status {
                at,
                from: Status::Solved,
                to: Status::Open,
            },
            4 => ClockInput::Policy {
                at,
                policy: Some("chat".into()),
                priority: Priority::High,
            },
            _ => ClockInput::Policy {
                at,
                policy: Some("chat".into()),
                priority: Priority::Normal,
            },
        }
    }

    proptest! {
        /// Operation after operation, each a decode, some inputs, a poll and an encode:
        /// the text is exactly what the whole clocks encode to, and decodes to them.
        #[test]
        fn appending_to_the_text_equals_encoding_everything(
            ops in proptest::collection::vec(
                (proptest::collection::vec(0u8..6, 0..4), 1i64..600),
                1..25,
            )
        ) {
            let sla = policies();
            let mut whole = SlaClocks::default();
            let mut stored = StoredClocks::new().encode().unwrap();
            let mut now: DateTime<Utc> = "2026-03-02T09:00:00Z".parse().unwrap();
            for (kinds, minutes) in ops {
                let mut s = StoredClocks::decode(stored.get()).unwrap();
                // The Desk's first input of an inbound is always the policy.
                for k in std::iter::once(5).chain(kinds) {
                    let i = input(k, now);
                    whole.apply(&sla, &i);
                    s.clocks.apply(&sla, &i);
                }
                now += TimeDelta::minutes(minutes);
                prop_assert_eq!(whole.poll(now), s.clocks.poll(now));
                prop_assert_eq!(whole.next_due(), s.clocks.next_due());
                stored = s.encode().unwrap();
                prop_assert_eq!(stored.get(), serde_json::to_string(&whole).unwrap());
                let back: SlaClocks = serde_json::from_str(stored.get()).unwrap();
                prop_assert_eq!(&back, &whole);
            }
        }
    }

    #[test]
    fn a_spaced_log_written_elsewhere_still_appends() {
        let json = r#"{"policy":null,"priority":"normal","clocks":[],"events": [ ] ,"started":false,"not_before":null}"#;
        let mut s = StoredClocks::decode(json).unwrap();
        let sla = policies();
        let at = "2026-03-02T09:00:00Z".parse().unwrap();
        s.clocks.apply(
            &sla,
            &ClockInput::Policy {
                at,
                policy: Some("chat".into()),
                priority: Priority::Normal,
            },
        );
        let back: SlaClocks = serde_json::from_str(s.encode().unwrap().get()).unwrap();
        assert_eq!(back.events.len(), 1);
        assert!(StoredClocks::decode(r#"{"events":"#).is_err());
    }
}
