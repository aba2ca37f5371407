//! Business-time arithmetic beside the day-walking reference (`sla::reference`), measured in
//! the same run: `add` and `elapsed` over mixed spans up to two years, and 1-day against
//! 700-day spans.
//!
//! ```sh
//! cargo bench --bench sla
//! ```

use std::hint::black_box;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc, Weekday};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use throughline::sla::{reference, BusinessCalendar};

fn calendar() -> BusinessCalendar {
    let mut b = BusinessCalendar::builder("Europe/Amsterdam");
    for d in [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ] {
        b = b.hours(d, "08:30", "12:30").hours(d, "13:15", "17:30");
    }
    b = b.hours(Weekday::Sat, "10:00", "14:00");
    // Two years of public holidays (about ten a year) and a few special days.
    for y in [2026, 2027] {
        for (m, d) in [
            (1, 1),
            (4, 6),
            (4, 27),
            (5, 5),
            (5, 14),
            (5, 25),
            (12, 25),
            (12, 26),
            (6, 1),
            (3, 30),
        ] {
            b = b.holiday(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        }
        b = b.special_hours(
            NaiveDate::from_ymd_opt(y, 12, 24).unwrap(),
            "09:00",
            "13:00",
        );
        b = b.closed(NaiveDate::from_ymd_opt(y, 9, 15).unwrap(), "12:00", "17:30");
    }
    b.build().unwrap()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
}

fn starts(n: usize, rng: &mut Rng) -> Vec<DateTime<Utc>> {
    let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    (0..n)
        .map(|_| t0 + TimeDelta::seconds((rng.next() % (365 * 86_400)) as i64))
        .collect()
}

fn bench(c: &mut Criterion) {
    let cal = calendar();
    let mut rng = Rng(7);
    let n = 1024;
    let s = starts(n, &mut rng);
    // Mixed amounts: minutes to ~2 years of business time (2 years ~ 4,300 open hours).
    let mixed: Vec<TimeDelta> = (0..n)
        .map(|_| TimeDelta::minutes((rng.next() % (4_300 * 60)) as i64 + 1))
        .collect();
    let mixed_ends: Vec<DateTime<Utc>> = s
        .iter()
        .map(|a| *a + TimeDelta::seconds((rng.next() % (730 * 86_400)) as i64))
        .collect();

    let mut g = c.benchmark_group("calendar_add");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("fast_mixed_spans", |b| {
        b.iter(|| {
            for i in 0..n {
                black_box(cal.add(s[i], mixed[i]).unwrap());
            }
        })
    });
    g.sample_size(10);
    g.throughput(Throughput::Elements((n / 16) as u64));
    g.bench_function("reference_day_walk_mixed_spans", |b| {
        b.iter(|| {
            for i in 0..n / 16 {
                black_box(reference::add(&cal, s[i], mixed[i]).unwrap());
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("calendar_elapsed");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("fast_mixed_spans", |b| {
        b.iter(|| {
            for i in 0..n {
                black_box(cal.elapsed(s[i], mixed_ends[i]));
            }
        })
    });
    g.sample_size(10);
    g.throughput(Throughput::Elements((n / 16) as u64));
    g.bench_function("reference_day_walk_mixed_spans", |b| {
        b.iter(|| {
            for i in 0..n / 16 {
                black_box(reference::elapsed(&cal, s[i], mixed_ends[i]));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("calendar_span_length");
    g.throughput(Throughput::Elements(n as u64));
    for (name, days) in [("1_day", 1i64), ("700_days", 700)] {
        let ends: Vec<DateTime<Utc>> = s.iter().map(|a| *a + TimeDelta::days(days)).collect();
        let amount = cal.elapsed(s[0], ends[0]).max(TimeDelta::minutes(1));
        g.bench_function(format!("add_{name}"), |b| {
            b.iter(|| {
                for a in &s {
                    black_box(cal.add(*a, amount).unwrap());
                }
            })
        });
        g.bench_function(format!("elapsed_{name}"), |b| {
            b.iter(|| {
                for i in 0..n {
                    black_box(cal.elapsed(s[i], ends[i]));
                }
            })
        });
    }
    g.finish();
}

/// `tick` with 1,000,000 open clocks and nothing due, beside the same store's
/// `next_due` lookup alone.
fn tick_backlog(c: &mut Criterion) {
    use throughline::store::{ChangeSet, MemoryStore, Op, Record, Store};
    use throughline::{Desk, DeskConfig, TenantId};
    let tenant: TenantId = "01900000-0000-7000-8000-00000000071c".parse().unwrap();
    let now: DateTime<Utc> = "2026-03-09T08:00:00Z".parse().unwrap();
    let mut store = MemoryStore::new();
    let mut rng = Rng(3);
    for chunk in 0..1_000 {
        let ops = (0..1_000)
            .map(|i| {
                let mut r =
                    Record::new("sla", format!("{chunk:04}-{i:04}"), serde_json::Value::Null);
                r.due = Some(now + TimeDelta::seconds(60 + (rng.next() % 864_000) as i64));
                Op::PutRecord(r)
            })
            .collect();
        store.apply(ChangeSet { tenant, ops }).unwrap();
    }
    let mut desk = Desk::new(store, DeskConfig::default());
    let mut g = c.benchmark_group("tick_1m_open_clocks_nothing_due");
    g.bench_function("baseline_store_next_due", |b| {
        b.iter(|| black_box(desk.store().next_due("sla").unwrap()))
    });
    g.bench_function("desk_tick", |b| {
        b.iter(|| black_box(desk.tick(now).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench, tick_backlog);
criterion_main!(benches);
