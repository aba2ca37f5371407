//! [`BusinessCalendar`]: open hours in a time zone, with holidays, closures and special
//! hours, and business-time arithmetic whose cost does not depend on the span.
//!
//! # How it works
//!
//! Open time is counted in nanoseconds. A *regular* local day is open for the weekly
//! hours of its weekday; the open time of all regular days before a day is a closed
//! formula (whole weeks times the weekly total, plus a per-weekday prefix). Days that
//! differ — holidays, closures, special hours and the days on which the zone changes its
//! UTC offset — are kept in a sorted list with a prefix sum of how much they differ. The
//! open time before any day is then the formula plus one binary search, and
//! [`BusinessCalendar::add`] finds its day with one binary search over the exceptions and
//! constant work between them: O(log n) in the calendar's size, whatever the span.
//!
//! # Time zones and daylight saving time
//!
//! Hours are local wall-clock times in the calendar's IANA zone. A local time that does
//! not exist (in the spring-forward gap) is the first instant after the gap: when clocks
//! jump from 02:00 to 03:00, an opening at 02:30 opens at 03:00, which is exactly when the
//! wall clock first shows a time inside the interval. A local time that occurs twice (fall
//! back) is the earlier of the two instants, so an open interval stays one contiguous
//! span. An interval that falls entirely in a gap is empty. Offset changes are taken from the zone database for the
//! years 1900 to 2200; outside them the last known offset applies. Instants are counted in
//! nanoseconds, so the arithmetic covers the years 1678 to 2262; beyond them results
//! saturate (no panic).

use std::fmt;

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::{OffsetComponents, Tz};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const DAY: i64 = 86_400;
const NANOS: i64 = 1_000_000_000;

/// What a deadline that ends exactly at a closing time resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Endpoint {
    /// The closing instant itself (Python `businesstimedelta`, JavaScript
    /// `moment-business-time`): Wed 09:00 + 3 days of 8 h is Fri 17:00. The default.
    #[default]
    Closing,
    /// Always an open instant (Zendesk's `biz`): an exact fit at a closing time, or a zero
    /// amount outside hours, gives the next opening: Wed 09:00 + 3 days of 8 h is Mon 09:00.
    NextOpening,
}

/// One local interval, seconds of the day, `start < end <= 86_400`.
type Span = (u32, u32);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DayRule {
    /// Days since 1970-01-01 (local date).
    day: i64,
    holiday: bool,
    /// Replaces the weekly hours when set.
    special: Option<Vec<Span>>,
    /// Breaks on that date.
    closed: Vec<Span>,
}

/// A UTC offset change: at `at` (Unix seconds) the offset goes from `before` to `after`
/// (seconds east of UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Transition {
    at: i64,
    before: i32,
    after: i32,
}

/// The user-facing definition, kept so the calendar can be serialised and rebuilt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Spec {
    zone: String,
    weekly: [Vec<Span>; 7],
    rules: Vec<DayRule>,
}

/// Open hours of a business: an IANA time zone, weekly open intervals (several a day,
/// `24:00` allowed as an end), holidays (whole local days), closures (a break on one date)
/// and special hours (replacing one date's weekly hours).
///
/// ```
/// use chrono::{NaiveDate, TimeDelta, Weekday};
/// use throughline::sla::{BusinessCalendar, Endpoint};
/// let mut b = BusinessCalendar::builder("Europe/Amsterdam");
/// for d in [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri] {
///     b = b.hours(d, "09:00", "17:00");
/// }
/// let cal = b.holiday(NaiveDate::from_ymd_opt(2026, 4, 27).unwrap()).build()?; // King's Day
/// // Wednesday 09:00 local (07:00 UTC) + three business days of 8 hours:
/// let wed = "2026-03-04T08:00:00Z".parse()?;
/// assert_eq!(cal.add(wed, TimeDelta::hours(24))?.to_rfc3339(), "2026-03-06T16:00:00+00:00");
/// assert_eq!(cal.add_with(wed, TimeDelta::hours(24), Endpoint::NextOpening)?.to_rfc3339(),
///            "2026-03-09T08:00:00+00:00");
/// assert_eq!(cal.elapsed(wed, "2026-03-09T08:00:00Z".parse()?), TimeDelta::hours(24));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct BusinessCalendar {
    spec: Spec,
    /// Open nanoseconds per weekday (Monday first), regular days.
    week_open: [i64; 7],
    /// `prefix[k]`: open nanoseconds of weekdays `0..k`.
    prefix: [i64; 8],
    week_total: i64,
    /// Days that differ from the weekly hours, sorted, with how much they differ.
    exceptions: Vec<(i64, i64)>,
    /// `exc_prefix[k]`: sum of the first `k` differences.
    exc_prefix: Vec<i64>,
    transitions: Vec<Transition>,
    base_offset: i32,
}

impl fmt::Debug for BusinessCalendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusinessCalendar")
            .field("zone", &self.spec.zone)
            .field("weekly_open_hours", &(self.week_total / NANOS / 3600))
            .field("exceptions", &self.exceptions.len())
            .finish()
    }
}

impl Serialize for BusinessCalendar {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.spec.serialize(s)
    }
}

impl<'de> Deserialize<'de> for BusinessCalendar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let spec = Spec::deserialize(d)?;
        BusinessCalendar::from_spec(spec).map_err(serde::de::Error::custom)
    }
}

/// Builds a [`BusinessCalendar`]; every method takes and returns the builder, and errors
/// surface at [`CalendarBuilder::build`].
#[derive(Debug, Clone)]
pub struct CalendarBuilder {
    zone: String,
    weekly: [Vec<Span>; 7],
    rules: Vec<DayRule>,
    errors: Vec<String>,
}

fn parse_hm(s: &str, allow_24: bool) -> std::result::Result<u32, String> {
    let t = s.trim();
    if allow_24 && t == "24:00" {
        return Ok(DAY as u32);
    }
    NaiveTime::parse_from_str(t, "%H:%M")
        .map(|x| x.num_seconds_from_midnight())
        .map_err(|_| {
            format!("{s:?} is not a time of day as HH:MM (00:00 to 23:59, or 24:00 as an end)")
        })
}

fn days_from_epoch(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - 719_163
}

fn date_of(day: i64) -> Option<NaiveDate> {
    i32::try_from(day + 719_163)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

impl CalendarBuilder {
    fn span(&mut self, what: &str, start: &str, end: &str) -> Option<Span> {
        match (parse_hm(start, false), parse_hm(end, true)) {
            (Ok(s), Ok(e)) if s < e => Some((s, e)),
            (Ok(_), Ok(_)) => {
                self.errors
                    .push(format!("{what}: {start}-{end} is empty or inverted"));
                None
            }
            (Err(e), _) | (_, Err(e)) => {
                self.errors.push(format!("{what}: {e}"));
                None
            }
        }
    }

    fn rule(&mut self, date: NaiveDate) -> &mut DayRule {
        let day = days_from_epoch(date);
        let i = match self.rules.iter().position(|r| r.day == day) {
            Some(i) => i,
            None => {
                self.rules.push(DayRule {
                    day,
                    holiday: false,
                    special: None,
                    closed: Vec::new(),
                });
                self.rules.len() - 1
            }
        };
        &mut self.rules[i]
    }

    /// Adds an open interval on every `day` of the week (repeatable for split days).
    pub fn hours(mut self, day: Weekday, start: &str, end: &str) -> Self {
        if let Some(s) = self.span(&format!("hours on {day}"), start, end) {
            self.weekly[day.num_days_from_monday() as usize].push(s);
        }
        self
    }

    /// Closes a whole local date.
    pub fn holiday(mut self, date: NaiveDate) -> Self {
        self.rule(date).holiday = true;
        self
    }

    /// Closes part of one date (a break).
    pub fn closed(mut self, date: NaiveDate, start: &str, end: &str) -> Self {
        if let Some(s) = self.span(&format!("closure on {date}"), start, end) {
            self.rule(date).closed.push(s);
        }
        self
    }

    /// Replaces one date's weekly hours with this interval (repeatable for several
    /// intervals that day).
    pub fn special_hours(mut self, date: NaiveDate, start: &str, end: &str) -> Self {
        if let Some(s) = self.span(&format!("special hours on {date}"), start, end) {
            self.rule(date).special.get_or_insert_with(Vec::new).push(s);
        }
        self
    }

    /// Builds the calendar.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an unknown time zone, a malformed time, an empty or inverted
    /// interval, or overlapping intervals on one day.
    pub fn build(self) -> Result<BusinessCalendar> {
        if let Some(e) = self.errors.first() {
            return Err(Error::invalid("calendar", e));
        }
        BusinessCalendar::from_spec(Spec {
            zone: self.zone,
            weekly: self.weekly,
            rules: self.rules,
        })
    }
}

fn sort_checked(what: &str, spans: &mut [Span]) -> Result<()> {
    if spans.len() > MAX_SPANS / 2 {
        return Err(Error::invalid(
            "calendar",
            format!(
                "{what}: {} intervals, at most {} a day",
                spans.len(),
                MAX_SPANS / 2
            ),
        ));
    }
    spans.sort_unstable();
    for w in spans.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(Error::invalid(
                "calendar",
                format!(
                    "{what}: intervals {} and {} overlap",
                    show(w[0]),
                    show(w[1])
                ),
            ));
        }
    }
    Ok(())
}

fn show((s, e): Span) -> String {
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        e / 3600,
        e / 60 % 60
    )
}

/// Removes `cut` from sorted, disjoint `spans`.
fn subtract(spans: &[Span], cut: &[Span]) -> Vec<Span> {
    let mut out = Vec::with_capacity(spans.len());
    for &(mut s, e) in spans {
        for &(cs, ce) in cut {
            if ce <= s || cs >= e {
                continue;
            }
            if cs > s {
                out.push((s, cs));
            }
            s = s.max(ce);
        }
        if s < e {
            out.push((s, e));
        }
    }
    out
}

/// Offset changes of `tz` between 1900 and 2200, found by sampling every day and
/// bisecting to the second.
fn transitions_of(tz: Tz) -> (i32, Vec<Transition>) {
    let off = |t: i64| -> i32 {
        match Utc.timestamp_opt(t, 0).single() {
            Some(u) => {
                let o = tz.offset_from_utc_datetime(&u.naive_utc());
                (o.base_utc_offset() + o.dst_offset()).num_seconds() as i32
            }
            None => 0,
        }
    };
    let start = -2_208_988_800; // 1900-01-01
    let end = 7_258_118_400; // 2200-01-01
    let base = off(start);
    let mut out = Vec::new();
    let mut prev = base;
    let mut t = start;
    while t < end {
        let next = t + DAY;
        let o = off(next);
        if o != prev {
            // The change happened in (t, next]: bisect to the second.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if off(mid) == prev {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            out.push(Transition {
                at: hi,
                before: prev,
                after: o,
            });
            prev = o;
        }
        t = next;
    }
    (base, out)
}

impl BusinessCalendar {
    /// Starts a calendar in the IANA zone `zone` (for example `"Europe/Amsterdam"`).
    pub fn builder(zone: &str) -> CalendarBuilder {
        CalendarBuilder {
            zone: zone.trim().to_string(),
            weekly: Default::default(),
            rules: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// A calendar open all the time (in UTC): business time equals calendar time.
    pub fn always_open() -> BusinessCalendar {
        let mut b = BusinessCalendar::builder("UTC");
        for d in 0..7 {
            b.weekly[d].push((0, DAY as u32));
        }
        b.build()
            .unwrap_or_else(|_| unreachable!("a 24/7 UTC calendar is valid"))
    }

    fn from_spec(mut spec: Spec) -> Result<BusinessCalendar> {
        let tz: Tz = spec.zone.parse().map_err(|_| {
            Error::invalid("calendar", format!("unknown time zone {:?}", spec.zone))
        })?;
        for (i, w) in spec.weekly.iter_mut().enumerate() {
            let name = Weekday::try_from(i as u8).map_or("weekday".to_string(), |d| d.to_string());
            sort_checked(&format!("hours on {name}"), w)?;
        }
        spec.rules.sort_by_key(|r| r.day);
        for r in &mut spec.rules {
            let date = date_of(r.day).map_or(r.day.to_string(), |d| d.to_string());
            if let Some(s) = r.special.as_mut() {
                sort_checked(&format!("special hours on {date}"), s)?;
            }
            if r.closed.len() > MAX_SPANS / 2 {
                return Err(Error::invalid(
                    "calendar",
                    format!(
                        "closures on {date}: {}, at most {} a day",
                        r.closed.len(),
                        MAX_SPANS / 2
                    ),
                ));
            }
            r.closed.sort_unstable();
        }
        let (base_offset, transitions) = transitions_of(tz);
        let mut cal = BusinessCalendar {
            week_open: [0; 7],
            prefix: [0; 8],
            week_total: 0,
            exceptions: Vec::new(),
            exc_prefix: vec![0],
            transitions,
            base_offset,
            spec,
        };
        for d in 0..7 {
            cal.week_open[d] = cal.spec.weekly[d]
                .iter()
                .map(|&(s, e)| i64::from(e - s) * NANOS)
                .sum();
            cal.prefix[d + 1] = cal.prefix[d] + cal.week_open[d];
        }
        cal.week_total = cal.prefix[7];
        // Exception days: dated rules and the local days around every offset change.
        let mut days: Vec<i64> = cal.spec.rules.iter().map(|r| r.day).collect();
        for t in &cal.transitions {
            for o in [t.before, t.after] {
                days.push((t.at + i64::from(o)).div_euclid(DAY));
            }
        }
        days.sort_unstable();
        days.dedup();
        for day in days {
            let actual: i64 = cal.day_spans(day).iter().map(|&(s, e)| e - s).sum();
            let delta = actual - cal.week_open[weekday(day)];
            if delta != 0 {
                cal.exceptions.push((day, delta));
                let last = cal.exc_prefix.last().copied().unwrap_or(0);
                cal.exc_prefix.push(last + delta);
            }
        }
        Ok(cal)
    }

    /// The zone's name.
    pub fn zone(&self) -> &str {
        &self.spec.zone
    }

    /// The local open intervals of a date (holidays, closures and special hours
    /// applied), as seconds of the day. For the reference implementation.
    pub(crate) fn local_spans(&self, date: NaiveDate) -> Vec<(u32, u32)> {
        let day = days_from_epoch(date);
        match self.rule(day) {
            Some(r) if r.holiday => Vec::new(),
            Some(r) => subtract(
                r.special
                    .as_deref()
                    .unwrap_or(&self.spec.weekly[weekday(day)]),
                &r.closed,
            ),
            None => self.spec.weekly[weekday(day)].clone(),
        }
    }

    /// UTC offset (seconds) in effect at Unix second `t`.
    fn offset_at(&self, t: i64) -> i64 {
        let k = self.transitions.partition_point(|x| x.at <= t);
        i64::from(if k == 0 {
            self.base_offset
        } else {
            self.transitions[k - 1].after
        })
    }

    /// Unix seconds of local wall time `local` (seconds since 1970-01-01 local), with the
    /// module's DST rule.
    fn local_to_utc(&self, local: i64) -> i64 {
        let k = self
            .transitions
            .partition_point(|x| x.at + i64::from(x.before) <= local);
        if k == 0 {
            return local - i64::from(self.base_offset);
        }
        let t = self.transitions[k - 1];
        if local >= t.at + i64::from(t.after) {
            local - i64::from(t.after)
        } else if t.after > t.before {
            // In the spring-forward gap: the first instant after it.
            t.at
        } else {
            // Occurs twice (fall back): the earlier instant.
            local - i64::from(t.before)
        }
    }

    fn rule(&self, day: i64) -> Option<&DayRule> {
        self.spec
            .rules
            .binary_search_by_key(&day, |r| r.day)
            .ok()
            .map(|i| &self.spec.rules[i])
    }

    /// The open intervals of a local day as UTC nanoseconds, sorted, without allocating.
    fn day_spans(&self, day: i64) -> DaySpans {
        let mut out = DaySpans::default();
        let midnight = day * DAY;
        // On a day without an offset change one offset converts every boundary.
        let k = self
            .transitions
            .partition_point(|x| x.at + i64::from(x.before) <= midnight);
        let steady = self
            .transitions
            .get(k)
            .is_none_or(|t| t.at + i64::from(t.before.min(t.after)) > midnight + DAY)
            && (k == 0 || {
                let t = self.transitions[k - 1];
                midnight >= t.at + i64::from(t.after.max(t.before))
            });
        let off = if steady {
            Some(if k == 0 {
                i64::from(self.base_offset)
            } else {
                i64::from(self.transitions[k - 1].after)
            })
        } else {
            None
        };
        let convert = |secs: u32| -> i64 {
            let local = midnight + i64::from(secs);
            match off {
                Some(o) => local - o,
                None => self.local_to_utc(local),
            }
        };
        let mut push = |(s, e): Span| {
            let (us, ue) = (convert(s), convert(e));
            if ue > us {
                // Saturating: past 2262 every instant is the last representable one.
                out.push((us.saturating_mul(NANOS), ue.saturating_mul(NANOS)));
            }
        };
        match self.rule(day) {
            Some(r) if r.holiday => {}
            Some(r) => {
                let base = r
                    .special
                    .as_deref()
                    .unwrap_or(&self.spec.weekly[weekday(day)]);
                for span in subtract(base, &r.closed) {
                    push(span);
                }
            }
            None => {
                for &span in &self.spec.weekly[weekday(day)] {
                    push(span);
                }
            }
        }
        out
    }

    /// Open nanoseconds of all days before `day`, counted from an arbitrary origin.
    fn cum(&self, day: i64) -> i64 {
        let m = day + 3; // days since Monday 1969-12-29
        let regular = m
            .div_euclid(7)
            .saturating_mul(self.week_total)
            .saturating_add(self.prefix[m.rem_euclid(7) as usize]);
        let k = self.exceptions.partition_point(|&(d, _)| d < day);
        regular.saturating_add(self.exc_prefix[k])
    }

    /// Smallest day `b` with `regular(b) >= target` (regular days only).
    fn solve_regular(&self, target: i64) -> Option<i64> {
        if self.week_total == 0 {
            return None;
        }
        let mut m = (target.div_euclid(self.week_total) - 1) * 7;
        let reg = |m: i64| {
            m.div_euclid(7)
                .saturating_mul(self.week_total)
                .saturating_add(self.prefix[m.rem_euclid(7) as usize])
        };
        // At most two weeks of steps from the estimate.
        for _ in 0..15 {
            if reg(m) >= target {
                break;
            }
            m += 1;
        }
        Some(m - 3)
    }

    /// Smallest day `b > after` with `cum(b) >= target`.
    fn find_day(&self, after: i64, target: i64) -> Option<i64> {
        let first = self.exceptions.partition_point(|&(d, _)| d <= after);
        let rest = &self.exceptions[first..];
        // cum(d + 1) for the j-th exception d of `rest`: the regular formula plus every
        // difference up to and including it (known by index, no second search).
        let (mut lo, mut hi) = (0usize, rest.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let m = rest[mid].0 + 1 + 3;
            let cum = m
                .div_euclid(7)
                .saturating_mul(self.week_total)
                .saturating_add(self.prefix[m.rem_euclid(7) as usize])
                .saturating_add(self.exc_prefix[first + mid + 1]);
            if cum < target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let k = lo;
        let seg_start = if k == 0 { after + 1 } else { rest[k - 1].0 + 1 };
        let delta = self.exc_prefix[first + k];
        let b = self.solve_regular(target - delta).map(|b| b.max(seg_start));
        match rest.get(k) {
            Some(&(e, _)) => Some(match b {
                Some(b) if b <= e => b,
                _ => e + 1,
            }),
            None => b,
        }
    }

    fn local_day(&self, t: DateTime<Utc>) -> i64 {
        let s = t.timestamp();
        (s + self.offset_at(s)).div_euclid(DAY)
    }

    /// Whether the business is open at `at` (opening inclusive, closing exclusive).
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let n = nanos(at);
        self.day_spans(self.local_day(at))
            .iter()
            .any(|&(s, e)| s <= n && n < e)
    }

    /// Open time in `[from, to)`; zero when `to <= from`.
    pub fn elapsed(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
        if to <= from {
            return TimeDelta::zero();
        }
        let (f, t) = (nanos(from), nanos(to));
        let (df, dt) = (self.local_day(from), self.local_day(to));
        let clip = |day: i64, lo: i64, hi: i64| -> i64 {
            self.day_spans(day)
                .iter()
                .map(|&(s, e)| (e.min(hi) - s.max(lo)).max(0))
                .sum()
        };
        let total = if df == dt {
            clip(df, f, t)
        } else {
            clip(df, f, i64::MAX) + (self.cum(dt) - self.cum(df + 1)) + clip(dt, i64::MIN, t)
        };
        TimeDelta::nanoseconds(total)
    }

    /// The earliest instant at which `amount` of open time has passed since `start`; a
    /// deadline that ends exactly at a closing time is that closing time.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a negative amount, or when the calendar never has that much
    /// open time again (no weekly hours and no special hours ahead).
    pub fn add(&self, start: DateTime<Utc>, amount: TimeDelta) -> Result<DateTime<Utc>> {
        self.add_with(start, amount, Endpoint::Closing)
    }

    /// [`BusinessCalendar::add`] with the endpoint convention of your choice.
    ///
    /// # Errors
    ///
    /// As [`BusinessCalendar::add`].
    pub fn add_with(
        &self,
        start: DateTime<Utc>,
        amount: TimeDelta,
        endpoint: Endpoint,
    ) -> Result<DateTime<Utc>> {
        if amount < TimeDelta::zero() {
            return Err(Error::invalid("amount", format!("{amount} is negative")));
        }
        let want = amount
            .num_nanoseconds()
            .ok_or_else(|| Error::invalid("amount", format!("{amount} is too long")))?;
        let closing = self.add_closing(start, want)?;
        match endpoint {
            Endpoint::Closing => Ok(closing),
            Endpoint::NextOpening => self.next_open(closing).ok_or_else(never_open),
        }
    }

    fn add_closing(&self, start: DateTime<Utc>, want: i64) -> Result<DateTime<Utc>> {
        if want == 0 {
            return Ok(start);
        }
        let s = nanos(start);
        let ds = self.local_day(start);
        let mut left = want;
        for &(a, e) in &self.day_spans(ds) {
            let a = a.max(s);
            if a >= e {
                continue;
            }
            if e - a >= left {
                return Ok(instant(a.saturating_add(left)));
            }
            left -= e - a;
        }
        let target = self.cum(ds + 1).saturating_add(left);
        let b = self.find_day(ds, target).ok_or_else(never_open)?;
        let day = b - 1;
        let mut left = target - self.cum(day);
        for &(a, e) in &self.day_spans(day) {
            if e - a >= left {
                return Ok(instant(a.saturating_add(left)));
            }
            left -= e - a;
        }
        Err(Error::invalid(
            "calendar",
            "inconsistent open-time index (please report)",
        ))
    }

    /// `at` itself when open, else the next opening; `None` when the calendar is never
    /// open again.
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let n = nanos(at);
        let day = self.local_day(at);
        for &(s, e) in &self.day_spans(day) {
            if n < e {
                return Some(instant(s.max(n)));
            }
        }
        let b = self.find_day(day, self.cum(day + 1) + 1)?;
        self.day_spans(b - 1)
            .iter()
            .next()
            .map(|&(s, _)| instant(s))
    }
}

/// At most this many open intervals a day (after closures split them).
const MAX_SPANS: usize = 16;

/// A day's open intervals, inline.
#[derive(Debug, Clone, Copy)]
struct DaySpans {
    buf: [(i64, i64); MAX_SPANS],
    len: usize,
}

impl Default for DaySpans {
    fn default() -> Self {
        DaySpans {
            buf: [(0, 0); MAX_SPANS],
            len: 0,
        }
    }
}

impl DaySpans {
    fn push(&mut self, span: (i64, i64)) {
        if self.len < MAX_SPANS {
            self.buf[self.len] = span;
            self.len += 1;
        }
    }

    fn iter(&self) -> std::slice::Iter<'_, (i64, i64)> {
        self.buf[..self.len].iter()
    }
}

impl<'a> IntoIterator for &'a DaySpans {
    type Item = &'a (i64, i64);
    type IntoIter = std::slice::Iter<'a, (i64, i64)>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

fn weekday(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// Nanoseconds since the epoch; saturates outside 1678-2262 (the range the arithmetic
/// supports).
fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp()
        .saturating_mul(NANOS)
        .saturating_add(i64::from(t.timestamp_subsec_nanos()))
}

fn instant(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(n.div_euclid(NANOS), n.rem_euclid(NANOS) as u32)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn never_open() -> Error {
    Error::invalid("calendar", "the calendar has no open time ahead")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office(zone: &str) -> CalendarBuilder {
        let mut b = BusinessCalendar::builder(zone);
        for d in [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ] {
            b = b.hours(d, "09:00", "17:00");
        }
        b
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn endpoint_conventions() {
        let cal = office("UTC").build().unwrap();
        let wed = at("2026-03-04T09:00:00Z");
        let three_days = TimeDelta::hours(24);
        assert_eq!(
            cal.add(wed, three_days).unwrap(),
            at("2026-03-06T17:00:00Z")
        );
        assert_eq!(
            cal.add_with(wed, three_days, Endpoint::NextOpening)
                .unwrap(),
            at("2026-03-09T09:00:00Z")
        );
        // Zero outside hours.
        let sat = at("2026-03-07T12:00:00Z");
        assert_eq!(cal.add(sat, TimeDelta::zero()).unwrap(), sat);
        assert_eq!(
            cal.add_with(sat, TimeDelta::zero(), Endpoint::NextOpening)
                .unwrap(),
            at("2026-03-09T09:00:00Z")
        );
        assert!(cal.add(wed, TimeDelta::seconds(-1)).is_err());
    }

    #[test]
    fn split_days_holidays_closures_and_special_hours() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let cal = BusinessCalendar::builder("UTC")
            .hours(Weekday::Mon, "09:00", "12:00")
            .hours(Weekday::Mon, "13:00", "17:00")
            .hours(Weekday::Tue, "09:00", "17:00")
            .holiday(d(3, 10))
            .closed(d(3, 16), "10:00", "11:00")
            .special_hours(d(3, 17), "10:00", "12:00")
            .build()
            .unwrap();
        // Monday 11:00 + 2h -> skips lunch -> 14:00.
        assert_eq!(
            cal.add(at("2026-03-09T11:00:00Z"), TimeDelta::hours(2))
                .unwrap(),
            at("2026-03-09T14:00:00Z")
        );
        // Monday 16:00 + 2h: 1h on Monday, Tuesday the 10th is a holiday, then Monday 16th
        // 09:00-10:00 (closed 10-11): the deadline is that closing, 10:00.
        assert_eq!(
            cal.add(at("2026-03-09T16:00:00Z"), TimeDelta::hours(2))
                .unwrap(),
            at("2026-03-16T10:00:00Z")
        );
        assert_eq!(
            cal.add_with(
                at("2026-03-09T16:00:00Z"),
                TimeDelta::hours(2),
                Endpoint::NextOpening
            )
            .unwrap(),
            at("2026-03-16T11:00:00Z")
        );
        assert_eq!(
            cal.elapsed(at("2026-03-16T00:00:00Z"), at("2026-03-18T00:00:00Z")),
            TimeDelta::hours(6 + 2)
        );
        assert!(!cal.is_open(at("2026-03-17T09:30:00Z")));
        assert!(cal.is_open(at("2026-03-17T10:00:00Z")));
        assert!(!cal.is_open(at("2026-03-17T12:00:00Z")));
        assert_eq!(
            cal.next_open(at("2026-03-17T12:00:00Z")),
            Some(at("2026-03-23T09:00:00Z"))
        );
    }

    #[test]
    fn dst_days_are_23_and_25_hours_in_a_24_7_amsterdam_calendar() {
        let mut b = BusinessCalendar::builder("Europe/Amsterdam");
        for d in 0..7 {
            b = b.hours(Weekday::try_from(d).unwrap(), "00:00", "24:00");
        }
        let cal = b.build().unwrap();
        // 2026-03-29: clocks go 02:00 -> 03:00 local. Local day = 22:00Z..22:00Z? no: 23:00Z (28th) to 22:00Z (29th).
        assert_eq!(
            cal.elapsed(at("2026-03-28T23:00:00Z"), at("2026-03-29T22:00:00Z")),
            TimeDelta::hours(23)
        );
        assert_eq!(
            cal.elapsed(at("2026-10-24T22:00:00Z"), at("2026-10-25T23:00:00Z")),
            TimeDelta::hours(25)
        );
        assert_eq!(
            cal.elapsed(at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z")),
            TimeDelta::days(365)
        );
    }

    #[test]
    fn dst_gap_opens_at_its_end_and_overlap_takes_the_earlier() {
        // Open 02:30-04:00 every day in Amsterdam.
        let mut b = BusinessCalendar::builder("Europe/Amsterdam");
        for d in 0..7 {
            b = b.hours(Weekday::try_from(d).unwrap(), "02:30", "04:00");
        }
        let cal = b.build().unwrap();
        // Spring: 02:30 does not exist -> the gap's end, 03:00 CEST = 01:00Z; 04:00 CEST =
        // 02:00Z: 60 min open.
        assert_eq!(
            cal.elapsed(at("2026-03-29T00:00:00Z"), at("2026-03-29T12:00:00Z")),
            TimeDelta::minutes(60)
        );
        assert!(cal.is_open(at("2026-03-29T01:00:00Z")));
        assert!(!cal.is_open(at("2026-03-29T00:59:59Z")));
        // Autumn: 02:30 occurs twice -> the earlier (CEST, 00:30Z); 04:00 CET = 03:00Z: 2.5 h open.
        assert_eq!(
            cal.elapsed(at("2026-10-25T00:00:00Z"), at("2026-10-25T12:00:00Z")),
            TimeDelta::minutes(150)
        );
    }

    #[test]
    fn bad_definitions_are_errors() {
        assert!(BusinessCalendar::builder("Mars/Olympus").build().is_err());
        assert!(
            office("UTC")
                .hours(Weekday::Mon, "16:00", "18:00")
                .build()
                .is_err(),
            "overlap"
        );
        assert!(
            office("UTC")
                .hours(Weekday::Sat, "12:00", "10:00")
                .build()
                .is_err(),
            "inverted"
        );
        assert!(
            office("UTC")
                .hours(Weekday::Sat, "9am", "10:00")
                .build()
                .is_err(),
            "format"
        );
        assert!(office("UTC")
            .hours(Weekday::Sat, "24:00", "24:00")
            .build()
            .is_err());
        let never = BusinessCalendar::builder("UTC").build().unwrap();
        assert!(never
            .add(at("2026-01-01T00:00:00Z"), TimeDelta::hours(1))
            .is_err());
        assert_eq!(never.next_open(at("2026-01-01T00:00:00Z")), None);
        assert_eq!(
            never.elapsed(at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z")),
            TimeDelta::zero()
        );
    }

    #[test]
    fn serde_round_trip() {
        let cal = office("America/New_York")
            .holiday(NaiveDate::from_ymd_opt(2026, 7, 3).unwrap())
            .build()
            .unwrap();
        let json = serde_json::to_string(&cal).unwrap();
        let back: BusinessCalendar = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cal);
    }
}
