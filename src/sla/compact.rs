//! The compact stored form of SLA clocks (record format 2, its first element).
//!
//! Every operation on a conversation reads, decodes, re-encodes and rewrites its clock
//! record, and every tick that fires a warning does too, so the record's size is paid on
//! each of them: in bytes written to the store, and in JSON work. The record holds the
//! information of [`SlaClocks`](crate::sla::SlaClocks) as JSON arrays, with whole-second
//! instants as Unix seconds:
//!
//! ```text
//! [2, policy, priority, started, not_before, [clock, ...], [event, ...], replied?]
//! clock: [metric, state, started_at, elapsed, since, [within, basis, target priority],
//!         deadline, [[fraction, at], ...], breached_at]
//! event: [at, metric, kind, ...]   kind "apply_policy" policy priority | "warn" fraction
//!         deadline | "breach" deadline | "activate" | "pause" | "resume" | "fulfil" | "stop"
//! ```
//!
//! An instant is an integer (Unix seconds) when it has no fraction of a second, else its
//! RFC 3339 text; a duration is an integer of seconds, else `[seconds, nanoseconds]`;
//! `basis` is `null` for calendar time or the business calendar's name. `replied` is
//! written only when true (the record then has eight elements, else seven). A clock's
//! target measures the clock's own metric (the format relies on it; clocks that break
//! that rule are not written).

use chrono::{DateTime, TimeDelta, Utc};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::conversation::Priority;
use crate::sla::clock::{ClockState, MetricClock, SlaEvent, SlaEventKind};
use crate::sla::policy::{Basis, Metric, Target};

/// The first element of a format 2 record.
pub(crate) const FORMAT: u8 = 2;

/// Whether the format can hold these clocks (each target measures its clock's metric).
pub(crate) fn fits(clocks: &[MetricClock]) -> bool {
    clocks.iter().all(|c| c.target.metric == c.metric)
}

/// Seconds read as an unsigned JSON number, as the signed count the types hold.
fn signed_seconds<E: de::Error>(secs: u64) -> Result<i64, E> {
    i64::try_from(secs).map_err(|_| E::custom(format!("{secs} seconds is out of range")))
}

/// A slice written as a JSON array of `wrap(item)`, without collecting the wrappers.
struct SeqOf<'a, T, W>(&'a [T], fn(&'a T) -> W);

impl<'a, T, W: Serialize> Serialize for SeqOf<'a, T, W> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(self.1))
    }
}

/// An instant: Unix seconds when whole, else RFC 3339 text.
struct At<'a>(&'a DateTime<Utc>);

impl Serialize for At<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.timestamp_subsec_nanos() == 0 {
            s.serialize_i64(self.0.timestamp())
        } else {
            crate::serde_time::utc::serialize(self.0, s)
        }
    }
}

/// The same, optional (`null`).
struct AtOpt<'a>(&'a Option<DateTime<Utc>>);

impl Serialize for AtOpt<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(t) => At(t).serialize(s),
            None => s.serialize_none(),
        }
    }
}

/// A decoded instant.
pub(crate) struct AtIn(pub(crate) DateTime<Utc>);

impl<'de> Deserialize<'de> for AtIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AtIn;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("Unix seconds or an RFC 3339 date and time")
            }
            fn visit_i64<E: de::Error>(self, secs: i64) -> Result<AtIn, E> {
                DateTime::from_timestamp(secs, 0)
                    .map(AtIn)
                    .ok_or_else(|| E::custom(format!("{secs} seconds is out of range")))
            }
            fn visit_u64<E: de::Error>(self, secs: u64) -> Result<AtIn, E> {
                self.visit_i64(signed_seconds(secs)?)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<AtIn, E> {
                crate::serde_time::parse(s).map(AtIn).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration: whole seconds, else `[seconds, nanoseconds]`.
struct Span<'a>(&'a TimeDelta);

impl Serialize for Span<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.subsec_nanos() == 0 {
            s.serialize_i64(self.0.num_seconds())
        } else {
            self.0.serialize(s)
        }
    }
}

/// A decoded duration.
struct SpanIn(TimeDelta);

impl<'de> Deserialize<'de> for SpanIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SpanIn;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("seconds or [seconds, nanoseconds]")
            }
            fn visit_i64<E: de::Error>(self, secs: i64) -> Result<SpanIn, E> {
                TimeDelta::try_seconds(secs)
                    .map(SpanIn)
                    .ok_or_else(|| E::custom(format!("{secs} seconds is out of range")))
            }
            fn visit_u64<E: de::Error>(self, secs: u64) -> Result<SpanIn, E> {
                self.visit_i64(signed_seconds(secs)?)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<SpanIn, A::Error> {
                TimeDelta::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(SpanIn)
            }
        }
        d.deserialize_any(V)
    }
}

/// One clock, written.
struct ClockOut<'a>(&'a MetricClock);

impl Serialize for ClockOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let basis = match &c.target.basis {
            Basis::Calendar => None,
            Basis::Business(name) => Some(name),
        };
        let mut t = s.serialize_tuple(9)?;
        t.serialize_element(&c.metric)?;
        t.serialize_element(&c.state)?;
        t.serialize_element(&At(&c.started_at))?;
        t.serialize_element(&Span(&c.elapsed))?;
        t.serialize_element(&AtOpt(&c.since))?;
        t.serialize_element(&(Span(&c.target.within), basis, c.target.priority))?;
        t.serialize_element(&AtOpt(&c.deadline))?;
        t.serialize_element(&SeqOf(&c.warnings, |(f, at)| (*f, At(at))))?;
        t.serialize_element(&AtOpt(&c.breached_at))?;
        t.end()
    }
}

/// One clock, read.
pub(crate) struct ClockIn(pub(crate) MetricClock);

/// `[within, basis, priority]`.
#[derive(Deserialize)]
struct TargetIn(SpanIn, Option<String>, Priority);

#[derive(Deserialize)]
#[allow(clippy::type_complexity)]
struct ClockFields(
    Metric,
    ClockState,
    AtIn,
    SpanIn,
    Option<AtIn>,
    TargetIn,
    Option<AtIn>,
    Vec<(f64, AtIn)>,
    Option<AtIn>,
);

impl<'de> Deserialize<'de> for ClockIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ClockFields(
            metric,
            state,
            started,
            elapsed,
            since,
            target,
            deadline,
            warnings,
            breached,
        ) = ClockFields::deserialize(d)?;
        let TargetIn(within, basis, priority) = target;
        Ok(ClockIn(MetricClock {
            metric,
            state,
            started_at: started.0,
            elapsed: elapsed.0,
            since: since.map(|t| t.0),
            target: Target {
                metric,
                priority,
                within: within.0,
                basis: basis.map_or(Basis::Calendar, Basis::Business),
            },
            deadline: deadline.map(|t| t.0),
            warnings: warnings.into_iter().map(|(f, t)| (f, t.0)).collect(),
            breached_at: breached.map(|t| t.0),
        }))
    }
}

/// One logged event, written.
struct EventOut<'a>(&'a SlaEvent);

impl Serialize for EventOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut q = s.serialize_seq(None)?;
        q.serialize_element(&At(&e.at))?;
        q.serialize_element(&e.metric)?;
        match &e.kind {
            SlaEventKind::ApplyPolicy { policy, priority } => {
                q.serialize_element("apply_policy")?;
                q.serialize_element(policy)?;
                q.serialize_element(priority)?;
            }
            SlaEventKind::Activate => q.serialize_element("activate")?,
            SlaEventKind::Pause => q.serialize_element("pause")?,
            SlaEventKind::Resume => q.serialize_element("resume")?,
            SlaEventKind::Fulfil => q.serialize_element("fulfil")?,
            SlaEventKind::Stop => q.serialize_element("stop")?,
            SlaEventKind::Warn { fraction, deadline } => {
                q.serialize_element("warn")?;
                q.serialize_element(fraction)?;
                q.serialize_element(&At(deadline))?;
            }
            SlaEventKind::Breach { deadline } => {
                q.serialize_element("breach")?;
                q.serialize_element(&At(deadline))?;
            }
            SlaEventKind::SettingsChanged { what, by } => {
                q.serialize_element("settings_changed")?;
                q.serialize_element(what)?;
                q.serialize_element(by)?;
            }
        }
        q.end()
    }
}

/// One logged event, read.
struct EventIn(SlaEvent);

impl<'de> Deserialize<'de> for EventIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        fn next<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(
            seq: &mut A,
            what: &str,
        ) -> Result<T, A::Error> {
            seq.next_element()?
                .ok_or_else(|| de::Error::custom(format!("an SLA event lacks its {what}")))
        }
        impl<'de> Visitor<'de> for V {
            type Value = EventIn;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an SLA event [at, metric, kind, ...]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventIn, A::Error> {
                let at: AtIn = next(&mut seq, "time")?;
                let metric: Option<Metric> = next(&mut seq, "metric")?;
                let kind: std::borrow::Cow<'de, str> = next(&mut seq, "kind")?;
                let kind = match &*kind {
                    "apply_policy" => SlaEventKind::ApplyPolicy {
                        policy: next(&mut seq, "policy")?,
                        priority: next(&mut seq, "priority")?,
                    },
                    "activate" => SlaEventKind::Activate,
                    "pause" => SlaEventKind::Pause,
                    "resume" => SlaEventKind::Resume,
                    "fulfil" => SlaEventKind::Fulfil,
                    "stop" => SlaEventKind::Stop,
                    "warn" => SlaEventKind::Warn {
                        fraction: next(&mut seq, "fraction")?,
                        deadline: next::<AtIn, _>(&mut seq, "deadline")?.0,
                    },
                    "breach" => SlaEventKind::Breach {
                        deadline: next::<AtIn, _>(&mut seq, "deadline")?.0,
                    },
                    "settings_changed" => SlaEventKind::SettingsChanged {
                        what: next(&mut seq, "what")?,
                        by: next(&mut seq, "by")?,
                    },
                    other => {
                        return Err(de::Error::custom(format!(
                            "unknown SLA event kind {other:?}"
                        )))
                    }
                };
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("an SLA event has extra elements"));
                }
                Ok(EventIn(SlaEvent {
                    at: at.0,
                    metric,
                    kind,
                }))
            }
        }
        d.deserialize_seq(V)
    }
}

/// A format 2 record, written: the head and the log's JSON text.
pub(crate) struct RecordOut<'a> {
    pub(crate) policy: &'a Option<String>,
    pub(crate) priority: Priority,
    pub(crate) started: bool,
    pub(crate) not_before: &'a Option<DateTime<Utc>>,
    pub(crate) clocks: &'a [MetricClock],
    pub(crate) log: &'a RawValue,
    /// Written as an eighth element only when set (records before it have seven).
    pub(crate) replied: bool,
}

impl Serialize for RecordOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(if self.replied { 8 } else { 7 })?;
        t.serialize_element(&FORMAT)?;
        t.serialize_element(self.policy)?;
        t.serialize_element(&self.priority)?;
        t.serialize_element(&self.started)?;
        t.serialize_element(&AtOpt(self.not_before))?;
        t.serialize_element(&SeqOf(self.clocks, ClockOut))?;
        t.serialize_element(self.log)?;
        if self.replied {
            t.serialize_element(&true)?;
        }
        t.end()
    }
}

/// A format 2 record, read, with its log left as JSON text.
#[derive(Deserialize)]
pub(crate) struct RecordIn(
    pub(crate) u8,
    pub(crate) Option<String>,
    pub(crate) Priority,
    pub(crate) bool,
    pub(crate) Option<AtIn>,
    pub(crate) Vec<ClockIn>,
    pub(crate) Box<RawValue>,
    #[serde(default)] pub(crate) bool,
);

impl RecordIn {
    /// `not_before` as a time.
    pub(crate) fn not_before(&self) -> Option<DateTime<Utc>> {
        self.4.as_ref().map(|t| t.0)
    }
}

/// A format 2 log's events.
pub(crate) fn events(log: &str) -> serde_json::Result<Vec<SlaEvent>> {
    let v: Vec<EventIn> = serde_json::from_str(log)?;
    Ok(v.into_iter().map(|e| e.0).collect())
}

/// The events as a format 2 log (a JSON array).
pub(crate) fn log_text(events: &[SlaEvent]) -> serde_json::Result<String> {
    serde_json::to_string(&SeqOf(events, EventOut))
}
