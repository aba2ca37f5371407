//! SLA clocks as the Desk stores them, read and written on every operation of a
//! conversation without parsing its event log.
//!
//! Records are in the compact format (see `compact`).
//!
//! The event log only grows (a long conversation's log is most of its record), and the
//! clocks never read it back. So the hot path decodes everything but the log, which stays
//! JSON text, runs the inputs on clocks with an empty log, and appends the new events'
//! JSON to the old text. The result is byte for byte what encoding the whole clocks gives
//! (a property test checks it).

use serde_json::value::RawValue;

use crate::sla::clock::SlaClocks;
use crate::sla::compact;

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
        let r: compact::RecordIn = serde_json::from_str(json)?;
        if r.0 != compact::FORMAT {
            return Err(serde::de::Error::custom(format!(
                "unknown SLA record format {}",
                r.0
            )));
        }
        let not_before = r.not_before();
        Ok(StoredClocks {
            clocks: SlaClocks {
                policy: r.1,
                priority: r.2,
                clocks: r.5.into_iter().map(|c| c.0).collect(),
                events: Vec::new(),
                started: r.3,
                not_before,
                replied: r.7,
            },
            log: r.6,
        })
    }

    /// Decodes a stored record with its whole event log.
    pub(crate) fn decode_all(json: &str) -> serde_json::Result<SlaClocks> {
        let s = StoredClocks::decode(json)?;
        let events = compact::events(s.log.get())?;
        Ok(SlaClocks { events, ..s.clocks })
    }

    /// Encodes the clocks with the stored log followed by the new events.
    ///
    /// # Errors
    ///
    /// Clocks the format cannot hold (a target that measures another metric than its
    /// clock's, which the clocks never produce).
    pub(crate) fn encode(&self) -> serde_json::Result<Box<RawValue>> {
        check_fits(&self.clocks)?;
        if self.clocks.events.is_empty() {
            return with_log(&self.clocks, &self.log);
        }
        let new = compact::log_text(&self.clocks.events)?;
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
        with_log(&self.clocks, &RawValue::from_string(text)?)
    }
}

/// An error for clocks the compact format cannot hold.
fn check_fits(clocks: &SlaClocks) -> serde_json::Result<()> {
    if compact::fits(&clocks.clocks) {
        Ok(())
    } else {
        Err(serde::ser::Error::custom(
            "an SLA clock's target measures another metric than the clock",
        ))
    }
}

/// `clocks` (all but their `events`) with `log` as their event log.
fn with_log(clocks: &SlaClocks, log: &RawValue) -> serde_json::Result<Box<RawValue>> {
    serde_json::value::to_raw_value(&compact::RecordOut {
        policy: &clocks.policy,
        priority: clocks.priority,
        started: clocks.started,
        not_before: &clocks.not_before,
        clocks: &clocks.clocks,
        log,
        replied: clocks.replied,
    })
}

/// The whole clocks in the format [`StoredClocks::encode`] writes them.
#[cfg(test)]
pub(crate) fn encode_all(clocks: &SlaClocks) -> serde_json::Result<String> {
    check_fits(clocks)?;
    let log = compact::log_text(&clocks.events)?;
    Ok(with_log(clocks, &RawValue::from_string(log)?)?
        .get()
        .to_string())
}

fn empty_log() -> Box<RawValue> {
    RawValue::from_string("[]".to_string()).expect("[] is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Priority;
    use crate::sla::SlaEvent;
    use crate::sla::{AuthorKind, Basis, ClockInput, Metric, SlaEventKind, SlaPolicies, SlaPolicy};
    use chrono::TimeDelta;
    use chrono::{DateTime, Utc};
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

    /// Clocks after a few operations, with a warning and a breach in the log.
    fn busy_clocks() -> SlaClocks {
        let sla = policies();
        let t0: DateTime<Utc> = "2026-03-02T09:00:00Z".parse().unwrap();
        let mut c = SlaClocks::default();
        c.apply(&sla, &input(5, t0));
        c.apply(&sla, &input(0, t0));
        c.poll(t0 + TimeDelta::minutes(7));
        c.apply(&sla, &input(1, t0 + TimeDelta::minutes(8)));
        c.apply(&sla, &input(0, t0 + TimeDelta::minutes(20)));
        c
    }

    proptest! {
        /// Operation after operation, each a decode, some inputs, a poll and an encode:
        /// the text is exactly what the whole clocks encode to, and decodes to them. Times
        /// carry fractions of a second now and then.
        #[test]
        fn appending_to_the_text_equals_encoding_everything(
            ops in proptest::collection::vec(
                (proptest::collection::vec(0u8..6, 0..4), 1i64..600, 0u32..3),
                1..25,
            )
        ) {
            let sla = policies();
            let mut whole = SlaClocks::default();
            let mut stored = StoredClocks::new().encode().unwrap();
            let mut now: DateTime<Utc> = "2026-03-02T09:00:00Z".parse().unwrap();
            for (kinds, minutes, fraction) in ops {
                let mut s = StoredClocks::decode(stored.get()).unwrap();
                // The Desk's first input of an inbound is always the policy.
                for k in std::iter::once(5).chain(kinds) {
                    let i = input(k, now);
                    whole.apply(&sla, &i);
                    s.clocks.apply(&sla, &i);
                }
                now += TimeDelta::minutes(minutes);
                if fraction == 2 {
                    now += TimeDelta::milliseconds(250);
                }
                prop_assert_eq!(whole.poll(now), s.clocks.poll(now));
                prop_assert_eq!(whole.next_due(), s.clocks.next_due());
                stored = s.encode().unwrap();
                prop_assert_eq!(stored.get(), encode_all(&whole).unwrap());
                prop_assert!(stored.get().starts_with("[2,"));
                let back = StoredClocks::decode_all(stored.get()).unwrap();
                prop_assert_eq!(&back, &whole);
            }
        }
    }

    /// Every event kind, sub-second instants and durations, and business-time targets
    /// survive format 2.
    #[test]
    fn format_2_keeps_every_detail() {
        let mut c = busy_clocks();
        let odd: DateTime<Utc> = "2026-03-02T09:00:00.123456789Z".parse().unwrap();
        c.not_before = Some(odd);
        c.clocks[0].elapsed = TimeDelta::new(90, 5).unwrap();
        c.clocks[0].since = Some(odd);
        c.clocks[0].target.basis = Basis::Business("nl \"office\"".into());
        c.clocks[0].warnings = vec![(0.5, odd), (0.9, odd + TimeDelta::hours(1))];
        for kind in [
            SlaEventKind::Pause,
            SlaEventKind::Resume,
            SlaEventKind::Stop,
            SlaEventKind::Fulfil,
            SlaEventKind::ApplyPolicy {
                policy: None,
                priority: Priority::Urgent,
            },
            SlaEventKind::Warn {
                fraction: 0.1 + 0.2,
                deadline: odd,
            },
        ] {
            c.events.push(SlaEvent {
                at: odd,
                metric: None,
                kind,
            });
        }
        let text = encode_all(&c).unwrap();
        assert!(text.starts_with("[2,"), "{text}");
        assert_eq!(StoredClocks::decode_all(&text).unwrap(), c);
    }

    /// Clocks whose target measures another metric do not fit the format: encoding them
    /// is an error, not a record that would read back wrong.
    #[test]
    fn clocks_the_format_cannot_hold_are_an_error() {
        let whole = busy_clocks();
        let compact_text = encode_all(&whole).unwrap();
        let mut s = StoredClocks::decode(&compact_text).unwrap();
        s.clocks.clocks[0].target.metric = Metric::AgentWork;
        assert!(s.encode().is_err());
    }

    #[test]
    fn a_spaced_log_written_elsewhere_still_appends() {
        let sla = policies();
        let at = "2026-03-02T09:00:00Z".parse().unwrap();
        // Replied already (the eighth element): the next message starts a next-reply clock.
        let spaced = r#"[2, "chat", "normal", true, null, [ ], [ ], true ]"#;
        let mut s = StoredClocks::decode(spaced).unwrap();
        s.clocks.apply(&sla, &input(0, at));
        let back = StoredClocks::decode_all(s.encode().unwrap().get()).unwrap();
        assert!(!back.events.is_empty());
    }

    #[test]
    fn a_record_without_the_replied_element_reads_as_not_replied() {
        let old = StoredClocks::decode(r#"[2,"chat","normal",true,null,[],[]]"#).unwrap();
        assert!(!old.clocks.replied);
        let mut s = old;
        s.clocks.replied = true;
        let text = s.encode().unwrap();
        assert!(text.get().ends_with(",true]"), "{}", text.get());
        assert!(StoredClocks::decode(text.get()).unwrap().clocks.replied);
    }

    #[test]
    fn broken_records_are_errors() {
        assert!(StoredClocks::decode(r#"{"events":"#).is_err());
        assert!(
            StoredClocks::decode(r#"[3,null,"normal",false,null,[],[]]"#)
                .unwrap_err()
                .to_string()
                .contains("unknown SLA record format 3")
        );
        assert!(
            StoredClocks::decode_all(r#"[2,null,"normal",false,null,[],[[0,null,"nap"]]]"#)
                .unwrap_err()
                .to_string()
                .contains("unknown SLA event kind")
        );
        assert!(StoredClocks::decode_all(r#"[2,null,"normal",false,null,[],[[0,null]]]"#).is_err());
        assert!(
            StoredClocks::decode(r#"[2,null,"normal",false,99999999999999999,[],[]]"#).is_err()
        );
    }
}
