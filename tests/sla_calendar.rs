//! Business-calendar properties, checked against the day-walking reference.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc, Weekday};
use proptest::prelude::*;
use throughline::sla::{reference, BusinessCalendar, Endpoint};

const ZONES: [&str; 4] = [
    "Europe/Amsterdam",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
];

#[derive(Debug, Clone)]
struct Def {
    zone: usize,
    weekly: Vec<(u8, u32, u32)>,
    holidays: Vec<u16>,
    closed: Vec<(u16, u32, u32)>,
    special: Vec<(u16, u32, u32)>,
}

fn hm(min: u32) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

/// Random non-overlapping intervals: cut points on a half-hour grid.
fn spans() -> impl Strategy<Value = Vec<(u32, u32)>> {
    proptest::collection::btree_set(0u32..=48, 0..6).prop_map(|cuts| {
        let v: Vec<u32> = cuts.into_iter().collect();
        v.chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[0] * 30, c[1] * 30))
            .collect()
    })
}

fn def() -> impl Strategy<Value = Def> {
    (
        0..ZONES.len(),
        proptest::collection::vec(spans(), 7),
        proptest::collection::vec(0u16..800, 0..6),
        proptest::collection::vec((0u16..800, spans()), 0..4),
        proptest::collection::vec((0u16..800, spans()), 0..4),
    )
        .prop_map(|(zone, week, holidays, closed, special)| Def {
            zone,
            weekly: week
                .into_iter()
                .enumerate()
                .flat_map(|(d, s)| s.into_iter().map(move |(a, b)| (d as u8, a, b)))
                .collect(),
            holidays,
            closed: closed
                .into_iter()
                .flat_map(|(d, s)| s.into_iter().map(move |(a, b)| (d, a, b)))
                .collect(),
            // One set of special hours per date (two sets could overlap each other).
            special: special
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_iter()
                .flat_map(|(d, s)| s.into_iter().map(move |(a, b)| (d, a, b)))
                .collect(),
        })
}

fn base_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()
}

fn build(d: &Def) -> BusinessCalendar {
    let mut b = BusinessCalendar::builder(ZONES[d.zone]);
    for &(day, s, e) in &d.weekly {
        b = b.hours(Weekday::try_from(day).unwrap(), &hm(s), &hm(e));
    }
    for &h in &d.holidays {
        b = b.holiday(base_date() + TimeDelta::days(i64::from(h)));
    }
    for &(day, s, e) in &d.closed {
        b = b.closed(
            base_date() + TimeDelta::days(i64::from(day)),
            &hm(s),
            &hm(e),
        );
    }
    for &(day, s, e) in &d.special {
        b = b.special_hours(
            base_date() + TimeDelta::days(i64::from(day)),
            &hm(s),
            &hm(e),
        );
    }
    b.build().expect("generated calendars are valid")
}

fn instant(mins: u32) -> DateTime<Utc> {
    base_date().and_hms_opt(0, 0, 0).unwrap().and_utc() + TimeDelta::minutes(i64::from(mins))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48)))]

    #[test]
    fn elapsed_and_add_agree_with_the_day_walking_reference(
        d in def(),
        from in 0u32..(800 * 1440),
        span in 0u32..(60 * 1440),
        amount in 0u32..(20 * 60),
    ) {
        let cal = build(&d);
        let (a, b) = (instant(from), instant(from + span));
        prop_assert_eq!(cal.elapsed(a, b), reference::elapsed(&cal, a, b));
        let amount = TimeDelta::minutes(i64::from(amount));
        match (cal.add(a, amount), reference::add(&cal, a, amount)) {
            (Ok(x), Some(y)) => prop_assert_eq!(x, y),
            (Err(_), None) => {}
            (x, y) => prop_assert!(false, "fast {:?} vs reference {:?}", x, y),
        }
    }

    #[test]
    fn add_then_elapsed_round_trips_and_elapsed_is_additive_and_monotone(
        d in def(),
        p in 0u32..(800 * 1440),
        q in 0u32..(30 * 1440),
        r in 0u32..(30 * 1440),
        amount in 1u32..(40 * 60),
    ) {
        let cal = build(&d);
        let (a, b, c) = (instant(p), instant(p + q), instant(p + q + r));
        prop_assert_eq!(cal.elapsed(a, b) + cal.elapsed(b, c), cal.elapsed(a, c));
        prop_assert!(cal.elapsed(a, b) <= cal.elapsed(a, c));
        let amount = TimeDelta::minutes(i64::from(amount));
        if let Ok(end) = cal.add(a, amount) {
            // Holds from any start, open or not (the earliest instant with that much open time).
            prop_assert_eq!(cal.elapsed(a, end), amount);
            let next = cal.add_with(a, amount, Endpoint::NextOpening).unwrap();
            prop_assert!(next >= end);
            prop_assert!(cal.is_open(next));
            prop_assert_eq!(cal.elapsed(end, next), TimeDelta::zero());
            // More time never ends earlier.
            let later = cal.add(a, amount + TimeDelta::minutes(1)).unwrap();
            prop_assert!(later > end);
        }
        if let Some(n) = cal.next_open(a) {
            prop_assert!(n >= a && cal.is_open(n));
            prop_assert_eq!(cal.elapsed(a, n), TimeDelta::zero());
        }
    }
}

#[test]
fn us_dst_week_in_new_york() {
    let mut b = BusinessCalendar::builder("America/New_York");
    for d in [Weekday::Fri, Weekday::Sat, Weekday::Sun, Weekday::Mon] {
        b = b.hours(d, "00:00", "24:00");
    }
    let cal = b.build().unwrap();
    // 2026-03-08 is the US spring-forward Sunday: 23 hours.
    let sun: DateTime<Utc> = "2026-03-08T05:00:00Z".parse().unwrap(); // 00:00 EST
    let mon: DateTime<Utc> = "2026-03-09T04:00:00Z".parse().unwrap(); // 00:00 EDT
    assert_eq!(cal.elapsed(sun, mon), TimeDelta::hours(23));
    assert_eq!(cal.add(sun, TimeDelta::hours(23)).unwrap(), mon);
    assert_eq!(reference::elapsed(&cal, sun, mon), TimeDelta::hours(23));
}

#[test]
fn the_reference_crosses_a_skipped_date() {
    // Samoa skipped 30 December 2011 (from UTC-10 to UTC+14). Open 09:00-17:00 every day:
    // from the 29th 00:00 to the 31st 24:00 local, two days were open (the 29th and the
    // 31st), 16 hours, by both the fast calendar and the reference.
    let mut b = BusinessCalendar::builder("Pacific/Apia");
    for d in 0..7u8 {
        b = b.hours(Weekday::try_from(d).unwrap(), "09:00", "17:00");
    }
    let cal = b.build().unwrap();
    // 29th 00:00 at UTC-10, and 1 January 00:00 at UTC+14.
    let from: DateTime<Utc> = "2011-12-29T10:00:00Z".parse().unwrap();
    let to: DateTime<Utc> = "2011-12-31T10:00:00Z".parse().unwrap();
    assert_eq!(cal.elapsed(from, to), TimeDelta::hours(16));
    assert_eq!(reference::elapsed(&cal, from, to), TimeDelta::hours(16));
}
