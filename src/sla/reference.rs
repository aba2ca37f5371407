//! A slow, obviously-correct reference for [`BusinessCalendar`] arithmetic: it walks day
//! by day and converts local times with `chrono-tz` directly. The tests compare the fast
//! calendar against it, and the benchmarks use it as the same-run baseline.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::sla::BusinessCalendar;

fn to_utc(tz: Tz, date: NaiveDate, secs: u32) -> DateTime<Utc> {
    let base = date.and_hms_opt(0, 0, 0).unwrap_or(NaiveDateTime::MIN);
    let local = base + Duration::seconds(i64::from(secs));
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            // In a gap: the first local minute that exists after it (hours are whole
            // minutes, and every gap in the zone database ends on a whole minute). The
            // longest gap is a skipped date (Pacific/Apia, 2011-12-30): walk two days.
            let mut l = local;
            for _ in 0..(48 * 60) {
                l += Duration::minutes(1);
                if let LocalResult::Single(t) | LocalResult::Ambiguous(t, _) =
                    tz.from_local_datetime(&l)
                {
                    return t.with_timezone(&Utc);
                }
            }
            local.and_utc()
        }
    }
}

/// The open intervals of one local date, in UTC.
pub fn day_intervals(
    cal: &BusinessCalendar,
    date: NaiveDate,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let tz: Tz = cal.zone().parse().unwrap_or(chrono_tz::UTC);
    cal.local_spans(date)
        .into_iter()
        .map(|(s, e)| (to_utc(tz, date, s), to_utc(tz, date, e)))
        .filter(|(s, e)| e > s)
        .collect()
}

fn local_date(cal: &BusinessCalendar, t: DateTime<Utc>) -> NaiveDate {
    let tz: Tz = cal.zone().parse().unwrap_or(chrono_tz::UTC);
    t.with_timezone(&tz).date_naive()
}

/// Open time in `[from, to)`, walking every day.
pub fn elapsed(cal: &BusinessCalendar, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
    if to <= from {
        return TimeDelta::zero();
    }
    let mut total = TimeDelta::zero();
    let mut d = local_date(cal, from);
    let last = local_date(cal, to);
    while d <= last {
        for (s, e) in day_intervals(cal, d) {
            let (a, b) = (s.max(from), e.min(to));
            if b > a {
                total += b - a;
            }
        }
        match d.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    total
}

/// The earliest instant at which `amount` of open time has passed since `start` (the
/// closing-instant convention), walking every day; `None` after ten years without
/// enough open time.
pub fn add(
    cal: &BusinessCalendar,
    start: DateTime<Utc>,
    amount: TimeDelta,
) -> Option<DateTime<Utc>> {
    if amount <= TimeDelta::zero() {
        return Some(start);
    }
    let mut left = amount;
    let mut d = local_date(cal, start);
    for _ in 0..3660 {
        for (s, e) in day_intervals(cal, d) {
            let a = s.max(start);
            if e <= a {
                continue;
            }
            if e - a >= left {
                return Some(a + left);
            }
            left -= e - a;
        }
        d = d.succ_opt()?;
    }
    None
}
