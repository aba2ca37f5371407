//! Agents: skills, languages, channels, capacity, presence and shifts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::error::{Error, Result};
use crate::id::{AgentId, TenantId};

/// Whether an agent takes work now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Presence {
    /// Takes work.
    Available,
    /// Keeps what they have, takes nothing new.
    Busy,
    /// Away from the desk: nothing new.
    Away,
    /// Not working.
    Offline,
}

/// Weekly working windows in the agent's own time zone (follow-the-sun coverage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shift {
    /// IANA time zone name ("Asia/Tokyo").
    pub time_zone: String,
    /// `(day, start, end)` windows, local time, `start < end`.
    pub windows: Vec<(Weekday, NaiveTime, NaiveTime)>,
}

impl Shift {
    /// Mondays to Fridays from `start` to `end` in `time_zone`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an unknown time zone or `start >= end`.
    pub fn weekdays(time_zone: &str, start: NaiveTime, end: NaiveTime) -> Result<Shift> {
        let shift = Shift {
            time_zone: time_zone.to_string(),
            windows: [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ]
            .into_iter()
            .map(|d| (d, start, end))
            .collect(),
        };
        shift.validate()?;
        Ok(shift)
    }

    /// Checks the time zone and windows.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an unknown time zone or an empty window.
    pub fn validate(&self) -> Result<()> {
        self.time_zone.parse::<chrono_tz::Tz>().map_err(|_| {
            Error::invalid("shift", format!("unknown time zone {:?}", self.time_zone))
        })?;
        if let Some((d, s, e)) = self.windows.iter().find(|(_, s, e)| s >= e) {
            return Err(Error::invalid("shift", format!("{d} {s}-{e} is empty")));
        }
        Ok(())
    }

    /// The first window start after `after` (within the coming week), in UTC. A start
    /// that a daylight-saving change skips counts at the first local time that exists
    /// after it.
    ///
    /// ```
    /// use chrono::{NaiveTime, DateTime};
    /// use throughline::routing::Shift;
    /// let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    /// let shift = Shift::weekdays("Asia/Tokyo", nine, NaiveTime::from_hms_opt(17, 0, 0).unwrap())?;
    /// // Friday 2026-03-06 18:00 in Tokyo: the next start is Monday 09:00 Tokyo, 00:00 UTC.
    /// let friday_evening = DateTime::parse_from_rfc3339("2026-03-06T09:00:00Z")?.to_utc();
    /// assert_eq!(shift.next_start(friday_evening),
    ///            Some(DateTime::parse_from_rfc3339("2026-03-09T00:00:00Z")?.to_utc()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_start(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = self.time_zone.parse::<chrono_tz::Tz>().ok()?;
        let today = tz.from_utc_datetime(&after.naive_utc()).date_naive();
        (0..=7u64)
            .filter_map(|d| today.checked_add_days(chrono::Days::new(d)))
            .flat_map(|day| {
                self.windows
                    .iter()
                    .filter(move |(w, _, _)| *w == day.weekday())
                    .filter_map(move |(_, start, _)| first_instant(&tz, day.and_time(*start)))
            })
            .filter(|t| *t > after)
            .min()
    }

    /// Whether `now` falls in a window.
    pub fn covers(&self, now: DateTime<Utc>) -> bool {
        let Ok(tz) = self.time_zone.parse::<chrono_tz::Tz>() else {
            return false;
        };
        let local = tz.from_utc_datetime(&now.naive_utc());
        let (day, time) = (local.weekday(), local.time());
        self.windows
            .iter()
            .any(|(d, s, e)| *d == day && *s <= time && time < *e)
    }
}

/// The first instant at or after the local time `local` in `tz` (a time a
/// daylight-saving change skips moves to the end of the gap).
fn first_instant(tz: &chrono_tz::Tz, local: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
    (0..=180)
        .step_by(15)
        .find_map(|m| {
            tz.from_local_datetime(&(local + chrono::TimeDelta::minutes(m)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

/// A support agent.
///
/// ```
/// use throughline::routing::{Agent, Presence};
/// use throughline::{AgentId, Channel, TenantId};
/// let agent = Agent::new(AgentId::new_v7(), TenantId::new_v7(), "Sanne")
///     .skill("billing", 7)
///     .language("nl")
///     .channel(Channel::WebChat)
///     .capacity(5);
/// assert!(agent.validate().is_ok());
/// assert_eq!(agent.presence, Presence::Available);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// The agent's id.
    pub id: AgentId,
    /// Their tenant.
    pub tenant: TenantId,
    /// Display name.
    pub name: String,
    /// Skills with levels 1-10.
    pub skills: BTreeMap<String, u8>,
    /// Languages they answer in (ISO 639-1 codes where they exist); empty: any.
    pub languages: BTreeSet<String>,
    /// Channels they work; empty: every channel.
    pub channels: BTreeSet<Channel>,
    /// Capacity in units across channels (see [`CapacityModel`]).
    pub capacity: u32,
    /// Presence.
    pub presence: Presence,
    /// Working hours; `None`: always (presence alone decides).
    pub shift: Option<Shift>,
    /// The queues they serve; empty: every queue. Work waits in one queue
    /// ([`crate::routing::Requirements::queue`]), and only its agents are offered it, so
    /// an escalation step that overflows work to another queue hands it to other people.
    #[serde(default)]
    pub queues: BTreeSet<String>,
}

impl Agent {
    /// An available agent with capacity 5, no skills, languages or shift.
    pub fn new(id: AgentId, tenant: TenantId, name: impl Into<String>) -> Self {
        Agent {
            id,
            tenant,
            name: name.into(),
            skills: BTreeMap::new(),
            languages: BTreeSet::new(),
            channels: BTreeSet::new(),
            capacity: 5,
            presence: Presence::Available,
            shift: None,
            queues: BTreeSet::new(),
        }
    }

    /// Adds a skill at a level (1-10).
    pub fn skill(mut self, name: impl Into<String>, level: u8) -> Self {
        self.skills.insert(name.into(), level);
        self
    }

    /// Adds a language.
    pub fn language(mut self, code: impl Into<String>) -> Self {
        self.languages.insert(code.into());
        self
    }

    /// Adds a channel (an agent with none works every channel).
    pub fn channel(mut self, channel: Channel) -> Self {
        self.channels.insert(channel);
        self
    }

    /// Sets the capacity in units.
    pub fn capacity(mut self, units: u32) -> Self {
        self.capacity = units;
        self
    }

    /// Adds a queue they serve (an agent with none serves every queue).
    pub fn queue(mut self, name: impl Into<String>) -> Self {
        self.queues.insert(name.into());
        self
    }

    /// Whether they serve `queue`.
    pub fn serves(&self, queue: &str) -> bool {
        self.queues.is_empty() || self.queues.contains(queue)
    }

    /// Sets the shift.
    pub fn shift(mut self, shift: Shift) -> Self {
        self.shift = Some(shift);
        self
    }

    /// Sets the presence.
    pub fn presence(mut self, presence: Presence) -> Self {
        self.presence = presence;
        self
    }

    /// Checks skill levels, the capacity and the shift.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming what is wrong.
    pub fn validate(&self) -> Result<()> {
        if let Some((s, l)) = self.skills.iter().find(|(_, l)| !(1..=10).contains(*l)) {
            return Err(Error::invalid(
                "agent",
                format!("skill {s:?} level {l} is outside 1-10"),
            ));
        }
        if self.capacity == 0 || self.capacity > 1000 {
            return Err(Error::invalid(
                "agent",
                format!("capacity {} is outside 1-1000", self.capacity),
            ));
        }
        if let Some(s) = &self.shift {
            s.validate()?;
        }
        Ok(())
    }

    /// Whether they are working now (presence available and inside their shift).
    pub fn on_duty(&self, now: DateTime<Utc>) -> bool {
        self.presence == Presence::Available && self.shift.as_ref().is_none_or(|s| s.covers(now))
    }
}

/// What a piece of work costs in capacity units, per channel (Salesforce Omni-Channel /
/// Azure Job Router style): by default a voice call 5, everything else 1, so an agent of
/// capacity 5 takes one call or five chats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityModel {
    /// Per channel.
    pub costs: BTreeMap<Channel, u32>,
    /// For channels not listed.
    pub default: u32,
}

impl Default for CapacityModel {
    fn default() -> Self {
        CapacityModel {
            costs: BTreeMap::from([(Channel::Voice, 5)]),
            default: 1,
        }
    }
}

impl CapacityModel {
    /// The units a conversation on `channel` takes.
    pub fn units(&self, channel: &Channel) -> u32 {
        self.costs.get(channel).copied().unwrap_or(self.default)
    }
}
