//! Staffing the simulated team from the month's demand, with Erlang C.
//!
//! Each agent works [`world::CAPACITY`](crate::world::CAPACITY) conversations at once;
//! every slot is one server of an M/M/c queue. For each UTC hour of the day and each
//! customer language, the offered load is the messages expected in that hour (the month's
//! messages spread by the hour weights; every message counted as one that needs an agent,
//! which over-counts those a bot answers) times the mean handle time. Erlang C gives the
//! share of arrivals that find every slot busy, and so the share answered within `t`:
//! `1 − C(N, A) · e^(−(N − A)·t/h)`. The plan takes the fewest slots whose share reaches
//! [`SERVICE_GOAL`] within [`ANSWER_WITHIN`], in whole agents, and covers every hour with
//! eight-hour shifts, every day (arrivals do not depend on the weekday).

use chrono::{NaiveTime, Weekday};
use throughline::routing::Shift;

/// The share of conversations whose first reply should meet its target.
pub const SERVICE_GOAL: f64 = 0.90;
/// Within how long an agent should pick a conversation up: the live channels' first-reply
/// target at normal priority (5 minutes) less the greeting's typing time.
pub const ANSWER_WITHIN_SECS: f64 = 180.0;
/// Hours in a shift.
pub const SHIFT_HOURS: usize = 8;

/// Erlang C: the probability that an arrival waits, with `servers` servers and `load`
/// erlangs offered (1 when the servers cannot keep up).
pub fn erlang_c(servers: u32, load: f64) -> f64 {
    let n = f64::from(servers);
    if load <= 0.0 {
        return 0.0;
    }
    if load >= n {
        return 1.0;
    }
    // Erlang B by its recurrence, then C from B.
    let mut b = 1.0;
    for k in 1..=servers {
        b = load * b / (f64::from(k) + load * b);
    }
    b / (1.0 - (load / n) * (1.0 - b))
}

/// The share of arrivals answered within `within_secs`, mean handle time `handle_secs`.
pub fn answered_within(servers: u32, load: f64, handle_secs: f64, within_secs: f64) -> f64 {
    if load >= f64::from(servers) {
        return 0.0;
    }
    1.0 - erlang_c(servers, load) * (-(f64::from(servers) - load) * within_secs / handle_secs).exp()
}

/// The fewest agents (each with `capacity` slots) meeting the goal for `per_hour` arrivals.
pub fn agents_needed(per_hour: f64, handle_secs: f64, capacity: u32) -> u32 {
    let load = per_hour * handle_secs / 3600.0;
    let mut agents = 1;
    while answered_within(agents * capacity, load, handle_secs, ANSWER_WITHIN_SECS) < SERVICE_GOAL {
        agents += 1;
    }
    agents
}

/// Eight-hour shifts (by their UTC start hour) covering `need[h]` agents in every hour:
/// greedily, from the hour after the quietest, a shift starts wherever the cover falls
/// short.
pub fn shifts(need: &[u32; 24]) -> Vec<usize> {
    let quietest = (0..24).min_by_key(|&h| need[h]).unwrap_or(0);
    let mut cover = [0u32; 24];
    let mut starts = Vec::new();
    for i in 1..=24 {
        let h = (quietest + i) % 24;
        while cover[h] < need[h] {
            starts.push(h);
            for k in 0..SHIFT_HOURS {
                cover[(h + k) % 24] += 1;
            }
        }
    }
    starts
}

/// An every-day shift of [`SHIFT_HOURS`] from `start` o'clock UTC (split at midnight).
pub fn shift(start: usize) -> Shift {
    let at = |h: usize| NaiveTime::from_hms_opt(h as u32, 0, 0).expect("an hour");
    let end = start + SHIFT_HOURS;
    let midnight = NaiveTime::from_hms_opt(23, 59, 59).expect("a time");
    let mut windows = Vec::new();
    for d in [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ] {
        if end <= 24 {
            windows.push((d, at(start), if end == 24 { midnight } else { at(end) }));
        } else {
            windows.push((d, at(start), midnight));
            windows.push((d, at(0), at(end - 24)));
        }
    }
    Shift {
        time_zone: "UTC".into(),
        windows,
    }
}
