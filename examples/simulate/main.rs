//! A month of a support centre in one command: a seeded simulation that runs the real
//! `Desk` (triage, routing, SLA clocks, language detection, metrics) on the embedded SQLite
//! store, with a progress bar, a printed report and an HTML report with charts.
//!
//! ```sh
//! cargo run --release --example simulate                 # default size, well under a minute
//! cargo run --release --example simulate -- --full       # 100,000 customers, 1,000,000 messages
//! cargo run --release --example simulate -- --messages 20000 --customers 2000 --memory
//! ```
//!
//! Options: `--messages N`, `--customers N`, `--agents N`, `--days N`, `--seed N`,
//! `--db PATH` (default `target/simulate.db`, recreated), `--memory` (MemoryStore),
//! `--html PATH` (default `target/simulate-report.html`), `--full`, `--exclusive` (the
//! SQLite store owns its file for the process: `SqliteOptions::exclusive`), `--batch N`
//! (commit every N events together with `Desk::begin_batch`/`end_batch`, as a host
//! draining a queue would; default 1, every operation commits alone), `--single-thread`
//! (prepare each webhook on the Desk's thread when it is delivered, instead of on a
//! webhook thread ahead of time: the same report, from one core).
// An example host timing its runs: the no-clock rule is the library's.
#![allow(clippy::disallowed_methods)]

mod front;
mod html;
mod month;
mod staffing;
mod timing;
mod truth;
mod world;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::io::Write;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use throughline::metrics::Filter;
use throughline::routing::RoutingConfig;
use throughline::sla::Metric;
use throughline::store::{MemoryStore, SqliteOptions, SqliteStore, Store};
use throughline::triage::TriageConfig;
use throughline::{Desk, DeskConfig, TenantId};

use front::Front;
use month::{Event, Rng, Sim};

/// The simulation allocates as a server host would: through mimalloc, not the system
/// allocator. The Desk makes many small, short-lived allocations (records decoded and
/// encoded, change sets, effects); glibc's allocator spent about 13% of the Desk
/// thread's samples on them (`docs/performance.md`, "The allocator"). throughline itself
/// does not choose an allocator: that is the host's call.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Options {
    messages: u64,
    customers: u64,
    agents: Option<usize>,
    days: i64,
    seed: u64,
    db: Option<String>,
    html: String,
    exclusive: bool,
    batch: u64,
    single_thread: bool,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        messages: 30_000,
        customers: 4_000,
        agents: None,
        days: 30,
        seed: 42,
        db: Some("target/simulate.db".into()),
        html: "target/simulate-report.html".into(),
        exclusive: false,
        batch: 1,
        single_thread: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    let num = |v: Option<&String>, name: &str| -> Result<u64, String> {
        v.ok_or(format!("{name} needs a value"))?
            .parse()
            .map_err(|_| format!("{name} needs a number"))
    };
    while i < args.len() {
        match args[i].as_str() {
            "--full" => {
                o.messages = 1_000_000;
                o.customers = 100_000;
            }
            "--memory" => o.db = None,
            "--exclusive" => o.exclusive = true,
            "--single-thread" => o.single_thread = true,
            "--batch" => {
                o.batch = num(args.get(i + 1), "--batch")?.max(1);
                i += 1;
            }
            "--messages" => {
                o.messages = num(args.get(i + 1), "--messages")?;
                i += 1;
            }
            "--customers" => {
                o.customers = num(args.get(i + 1), "--customers")?.max(1);
                i += 1;
            }
            "--agents" => {
                o.agents = Some(num(args.get(i + 1), "--agents")?.max(1) as usize);
                i += 1;
            }
            "--days" => {
                o.days = num(args.get(i + 1), "--days")?.clamp(1, 365) as i64;
                i += 1;
            }
            "--seed" => {
                o.seed = num(args.get(i + 1), "--seed")?;
                i += 1;
            }
            "--db" => {
                o.db = Some(args.get(i + 1).ok_or("--db needs a path")?.clone());
                i += 1;
            }
            "--html" => {
                o.html = args.get(i + 1).ok_or("--html needs a path")?.clone();
                i += 1;
            }
            other => return Err(format!("unknown option {other}")),
        }
        i += 1;
    }
    Ok(o)
}

/// Contacts per hour of the day (UTC), a busy European morning and American afternoon.
fn hour_weight(h: u32) -> u64 {
    [
        2, 1, 1, 1, 2, 3, 6, 9, 12, 13, 13, 12, 11, 12, 13, 13, 12, 11, 9, 8, 6, 5, 4, 3,
    ][h as usize]
}

fn run<S: Store>(
    store: S,
    o: &Options,
    timing: &timing::Timing,
    started: Instant,
) -> Result<(), Box<dyn std::error::Error>> {
    let tenant: TenantId = "01900000-0000-7000-8000-0000000051a1".parse()?;
    let start: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")?.to_utc();
    let end = start + TimeDelta::days(o.days);
    let mut desk = Desk::new(store, desk_config(o, timing));
    let front = Front::new(desk.preparer(), !o.single_thread);
    let (team, staffing) = match o.agents {
        Some(n) => (
            world::agents(tenant, n),
            format!("a fixed team of {n} agents in 3 time zones"),
        ),
        None => plan_team(tenant, o),
    };
    let team_size = team.len();
    for a in team {
        desk.upsert_agent(a, start)?;
    }
    let mut sim = new_sim(desk, front, tenant, o);
    schedule_contacts(&mut sim, o, start);
    let elapsed = run_month(&mut sim, o, start, end, started)?;
    sim.front.stop();
    // Taken now: the recomputation below reads the store too, outside the timed month.
    let split = timing.split(elapsed);
    let month = Month {
        tenant,
        start,
        end,
        team_size,
        staffing,
        elapsed,
        split,
    };
    report(&mut sim, o, &month)
}

/// The desk the month runs on: the catalogue, the default SLA targets with first reply
/// paused while pending, and routing with two escalation steps.
fn desk_config(o: &Options, timing: &timing::Timing) -> DeskConfig {
    DeskConfig::default()
        .id_seed(o.seed)
        .triage(TriageConfig::new(world::catalogue()))
        .probe(timing.stages.clone())
        // The default targets; a conversation a bot answered waits on the customer
        // (pending), and its first-reply clock waits with it, as next-reply clocks do.
        .sla(
            throughline::sla::SlaPolicies::default()
                .pause(Metric::FirstReply, &[throughline::Status::Pending]),
        )
        .routing(
            RoutingConfig::default()
                .escalate(
                    throughline::routing::EscalationStep::after(TimeDelta::minutes(30))
                        .drop_language(),
                )
                .escalate(
                    throughline::routing::EscalationStep::after(TimeDelta::hours(4))
                        .lower_levels_by(5)
                        .raise_priority(),
                ),
        )
}

/// The simulation over `desk`, with its customers drawn from the seed.
fn new_sim<S: Store>(desk: Desk<S>, front: Front, tenant: TenantId, o: &Options) -> Sim<S> {
    let mut rng = Rng(o.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let customers: Vec<world::Customer> = (0..o.customers)
        .map(|n| world::customer(n, &mut rng))
        .collect();
    Sim {
        desk,
        tenant,
        seed: o.seed,
        rng,
        queue: BinaryHeap::new(),
        seq: 0,
        contacts: Vec::new(),
        next_contact: 0,
        plans: VecDeque::new(),
        front,
        customers,
        ingested: 0,
        duplicates: 0,
        assigned_at: HashMap::new(),
        waiting_since: HashMap::new(),
        waits: Vec::new(),
        breaches: BTreeMap::new(),
        breached: std::collections::HashSet::new(),
        reopened: 0,
        warnings: 0,
        handovers: 0,
        phone_fallbacks: 0,
        by_hour: [0; 24],
        conversation_intent: HashMap::new(),
        human_replied: HashMap::new(),
        senders: HashMap::new(),
        linked: vec![false; o.customers as usize],
        unanswered_emails: 0,
        calls_joined: 0,
        truth: truth::Truth::default(),
    }
}

/// Draws the month's contacts: spread over the days by hour of day, in time order.
fn schedule_contacts<S: Store>(sim: &mut Sim<S>, o: &Options, start: DateTime<Utc>) {
    // Contacts spread over the month by hour of day; about 1.3 messages per contact.
    let contacts = (o.messages as f64 / 1.3) as u64;
    let total_weight: u64 = (0..24).map(hour_weight).sum();
    for _ in 0..contacts {
        let day = sim.rng.below(o.days as u64) as i64;
        let mut x = sim.rng.below(total_weight);
        let mut hour = 0;
        while x >= hour_weight(hour) {
            x -= hour_weight(hour);
            hour += 1;
        }
        let when = start
            + TimeDelta::days(day)
            + TimeDelta::hours(i64::from(hour))
            + TimeDelta::seconds(sim.rng.below(3600) as i64);
        let customer = sim.rng.below(o.customers);
        sim.contacts.push((when, customer));
    }
    // In time order; contacts at the same second in the order they were drawn.
    sim.contacts.sort_by_key(|&(when, _)| when);
}

/// Runs the month's events in time order (committing every `--batch` events together),
/// with a progress line; the wall time from `started`.
fn run_month<S: Store>(
    sim: &mut Sim<S>,
    o: &Options,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    started: Instant,
) -> Result<std::time::Duration, Box<dyn std::error::Error>> {
    sim.at(start, Event::Tick);
    let mut last_print = Instant::now();
    let mut out = std::io::stderr();
    // With `--batch N`, the desk commits every N events together, the way a host that
    // drains a queue of webhooks and agent actions would (`Desk::begin_batch`).
    let mut batched = 0;
    loop {
        // The next event: the next contact, or what the month scheduled before it.
        sim.post_contacts_ahead();
        let contact = sim.contacts.get(sim.next_contact).copied();
        let scheduled = sim.queue.peek().map(|Reverse((when, _, _))| *when);
        let (now, e) = match (contact, scheduled) {
            (Some((when, customer)), s) if s.is_none_or(|s| when <= s) => {
                sim.next_contact += 1;
                let k = sim.next_contact - 1;
                (when, Event::Contact { customer, k })
            }
            _ => match sim.queue.pop() {
                Some(Reverse((now, _, e))) => (now, e),
                None => break,
            },
        };
        if sim.ingested >= o.messages && !matches!(e, Event::AgentWork { .. } | Event::Tick) {
            // The month's messages are in: what customers would still write is dropped.
            match e {
                Event::Contact { k, .. } => {
                    sim.plans.pop_front();
                    sim.front.drop_hook(k as u64);
                }
                Event::FollowUp { hook } | Event::PhoneFallback { hook, .. } => {
                    sim.front.drop_hook(hook)
                }
                _ => {}
            }
            continue;
        }
        if o.batch > 1 && batched == 0 {
            sim.desk.begin_batch()?;
        }
        sim.step(now, e, end);
        batched += 1;
        if batched >= o.batch {
            sim.desk.end_batch(true)?;
            batched = 0;
        }
        if last_print.elapsed().as_millis() > 200 {
            last_print = Instant::now();
            let done = sim.ingested.min(o.messages);
            let width = 30;
            let filled = (done * width / o.messages.max(1)) as usize;
            let rate = sim.ingested as f64 / started.elapsed().as_secs_f64();
            let _ = write!(
                out,
                "\r[{}{}] {:>3}% {done}/{} messages  {:.0} msg/s  simulated {}   ",
                "#".repeat(filled),
                ".".repeat(width as usize - filled),
                done * 100 / o.messages.max(1),
                o.messages,
                rate,
                now.format("%b %d %H:%M")
            );
        }
    }
    let _ = writeln!(
        out,
        "\r[{}] 100% {}/{} messages{}",
        "#".repeat(30),
        sim.ingested,
        o.messages,
        " ".repeat(40)
    );
    sim.desk.end_batch(true)?;
    Ok(started.elapsed())
}

/// What the report needs to know of the month besides the simulation.
struct Month {
    tenant: TenantId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    team_size: usize,
    staffing: String,
    elapsed: std::time::Duration,
    split: String,
}

/// The report's first part: the month, volumes, channels, reply and wait times, SLA
/// effects; `waits` sorted.
fn head_text<S: Store>(
    sim: &Sim<S>,
    o: &Options,
    m: &Month,
    live: &throughline::metrics::Report,
    w: &[i64],
) -> String {
    let (team_size, staffing, elapsed) = (m.team_size, &m.staffing, m.elapsed);
    let mut text = String::new();
    let secs = |d: Option<i64>| d.map_or("-".to_string(), |s| format!("{}m{:02}s", s / 60, s % 60));
    text += &format!(
        "A simulated month: {} customers, {team_size} agents ({staffing}), {} days\n",
        o.customers, o.days
    );
    text += &format!(
        "inbound messages ingested: {} (+{} duplicate webhook deliveries, stored once)\n",
        sim.ingested, sim.duplicates
    );
    text += &format!(
        "conversations: {}   solved: {}   wall time: {:.1}s ({:.0} messages/s)\n\n",
        live.conversations,
        live.solved,
        elapsed.as_secs_f64(),
        sim.ingested as f64 / elapsed.as_secs_f64()
    );
    text += "Volume by opening channel\n";
    for (ch, n) in &live.channel_mix {
        text += &format!(
            "  {ch:<10} {n:>8}  {:>5.1}%\n",
            100.0 * *n as f64 / live.conversations.max(1) as f64
        );
    }
    text += &format!(
        "  channel switches: {} in {} conversations\n",
        live.channel_switches, live.with_channel_switch
    );
    text += &format!(
        "  e-mails unanswered after {} h: {}; the customer called instead: {} ({:.1}%; {} joined the e-mail's conversation)\n\n",
        month::EMAIL_PATIENCE.num_hours(),
        sim.unanswered_emails,
        sim.phone_fallbacks,
        100.0 * sim.phone_fallbacks as f64 / sim.unanswered_emails.max(1) as f64,
        sim.calls_joined
    );
    text += &format!(
        "First reply (human): median {}, p90 {}\n",
        secs(live.first_reply.median_secs),
        secs(live.first_reply.p90_secs)
    );
    text += &format!(
        "Resolution: median {}, p90 {}\n",
        secs(live.resolution.median_secs),
        secs(live.resolution.p90_secs)
    );
    let pct = |p: usize| w.get(w.len().saturating_sub(1) * p / 100).copied();
    text += &format!(
        "Queue wait before an agent: median {}, p90 {} ({} routed)\n",
        secs(pct(50)),
        secs(pct(90)),
        w.len()
    );
    let breached: u64 = sim.breaches.values().sum();
    text += &format!(
        "SLA: {} warnings, {} breaches {:?}; conversations with every target met: {:.1}%\n",
        sim.warnings,
        breached,
        sim.breaches,
        100.0 * (1.0 - sim.breached.len() as f64 / live.conversations.max(1) as f64)
    );
    text
}

/// Prints the report (and writes the HTML one); an error when the crate's metrics
/// disagree with the ground truth.
fn report<S: Store>(
    sim: &mut Sim<S>,
    o: &Options,
    m: &Month,
) -> Result<(), Box<dyn std::error::Error>> {
    let (tenant, start, end) = (m.tenant, m.start, m.end);
    let split = &m.split;
    let filter = Filter::period(start, end + TimeDelta::days(3));
    let live = sim.desk.report(tenant, &filter)?;
    let stored = sim.desk.report_from_store(tenant, &filter)?;
    let irritants = sim
        .desk
        .irritant_report(tenant, start, end + TimeDelta::days(3))?;
    let attainment = sim.desk.sla_attainment(tenant, &filter)?;
    let mut w = sim.waits.clone();
    w.sort_unstable();
    let mut text = head_text(sim, o, m, &live, &w);
    // Attainment per metric, whatever the policy, from the stored clocks.
    let attained: Vec<String> = Metric::ALL
        .iter()
        .filter_map(|m| attainment.metric(*m))
        .filter_map(|a| {
            a.rate()
                .map(|r| format!("{:?} {:.1}%", a.metric, r * 100.0))
        })
        .collect();
    text += &format!(
        "SLA attainment (stored clocks, {} conversations): {}; every target met: {:.1}%\n",
        attainment.conversations,
        attained.join(", "),
        100.0 * attainment.all_met as f64 / attainment.conversations.max(1) as f64
    );
    text += &first_reply_by_channel(&sim.desk, tenant, &filter)?;
    text += &format!(
        "FCR: {}  CSAT: {} ({} answers)  reopen rate: {}\n",
        live.fcr_rate
            .map_or("-".into(), |r| format!("{:.1}%", r * 100.0)),
        live.csat
            .map_or("-".into(), |r| format!("{:.1}%", r * 100.0)),
        live.csat_answers,
        live.reopen_rate
            .map_or("-".into(), |r| format!("{:.1}%", r * 100.0))
    );
    text += &format!(
        "Bots: {} solved without a human, {} handed over; conversations reopened: {}\n\n",
        live.bot_resolved, sim.handovers, sim.reopened
    );
    text += "Irritants (volume × cost), what self-service and automation absorbed\n";
    for r in &irritants.rows {
        text += &format!(
            "  {:<13} {:<12} {:>7} contacts × {:>5.2} = {:>10.2}   absorbed {:>5.1}%\n",
            r.intent,
            format!("{:?}", r.disposition),
            r.contacts,
            r.cost_per_contact,
            r.total_cost,
            r.absorbed_share * 100.0
        );
    }
    text += &format!(
        "  unrecognised: {}; absorbed overall: {:.1}%\n\n",
        irritants.unrecognised,
        irritants.absorbed_share * 100.0
    );
    text += &format!("{split}\n");
    text += &match sim.front.busy {
        Some(busy) => format!(
            "  webhook thread: {:.1} s preparing webhooks (identifiers, checks, language detection) beside the desk's thread\n",
            busy.as_secs_f64()
        ),
        None => "  webhooks prepared on the desk's thread (--single-thread): in the language stage and the rest\n".to_string(),
    };
    text += &format!(
        "live metrics equal the metrics recomputed from the store: {}\n",
        format!("{live:?}") == format!("{stored:?}")
    );
    text += &format!(
        "conversations with a breach reported as an effect equal those the stored clocks show: {}\n",
        sim.breached.len() == attainment.conversations - attainment.all_met
    );
    let on_time = first_reply_truth(sim, end + TimeDelta::days(3));
    let (table, agree) = truth::compare(
        &sim.truth,
        &live,
        &attainment,
        on_time,
        throughline::DeskConfig::default().fcr_window,
    );
    text += &table;
    println!("{text}");
    html::write(&o.html, &text, &live, &irritants, &sim.by_hour, &w)?;
    println!("HTML report: {}", o.html);
    if !agree {
        return Err("the crate's metrics disagree with the simulation's ground truth".into());
    }
    Ok(())
}

/// The team staffed from the month's demand (`staffing`): per language and UTC hour the
/// agents Erlang C asks for, covered by eight-hour shifts.
fn plan_team(tenant: TenantId, o: &Options) -> (Vec<throughline::routing::Agent>, String) {
    let total_weight: u64 = (0..24).map(hour_weight).sum();
    let per_day = o.messages as f64 / o.days as f64;
    let mut plan = Vec::new();
    for lang in world::LANGS {
        let mut need = [0u32; 24];
        for (h, n) in need.iter_mut().enumerate() {
            let per_hour = per_day * hour_weight(h as u32) as f64
                / total_weight as f64
                / world::LANGS.len() as f64;
            *n = staffing::agents_needed(per_hour, month::HANDLE_MEAN_SECS, world::CAPACITY);
        }
        plan.extend(staffing::shifts(&need).into_iter().map(|s| (lang, s)));
    }
    let how = format!(
        "staffed by Erlang C for {:.0}% of pick-ups within {:.0} s, per language and hour",
        staffing::SERVICE_GOAL * 100.0,
        staffing::ANSWER_WITHIN_SECS
    );
    (world::planned_agents(tenant, &plan), how)
}

/// First-reply attainment per opening channel, from the stored clocks.
fn first_reply_by_channel<S: Store>(
    desk: &Desk<S>,
    tenant: TenantId,
    filter: &Filter,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut parts = Vec::new();
    for ch in [
        throughline::Channel::Email,
        throughline::Channel::WebChat,
        throughline::Channel::WhatsApp,
        throughline::Channel::Sms,
        throughline::Channel::Line,
        throughline::Channel::Twitter,
        throughline::Channel::Voice,
    ] {
        let a = desk.sla_attainment(tenant, &filter.clone().channel(ch.clone()))?;
        if let Some(rate) = a.metric(Metric::FirstReply).and_then(|m| m.rate()) {
            parts.push(format!("{ch} {:.1}%", rate * 100.0));
        }
    }
    Ok(format!(
        "First reply on time by opening channel: {}\n",
        parts.join(", ")
    ))
}

/// The simulation's own count of first replies on time, by the default SLA targets for
/// the opening channel and the conversation's priority: (met, decided). Answered or
/// solved before the deadline is met; past the deadline by `until` without either,
/// breached.
fn first_reply_truth<S: Store>(sim: &Sim<S>, until: DateTime<Utc>) -> (usize, usize) {
    let targets = throughline::sla::SlaPolicies::default();
    let (mut met, mut decided) = (0, 0);
    for (id, s) in &sim.truth.seen {
        let Ok(conv) = sim.desk.conversation((sim.tenant, *id)) else {
            continue;
        };
        let Some(target) = targets
            .policies()
            .iter()
            .find(|p| {
                p.conditions.channels.is_empty() || p.conditions.channels.contains(&s.first_channel)
            })
            .and_then(|p| p.target_for(Metric::FirstReply, conv.priority))
            .map(|t| t.within)
        else {
            continue;
        };
        let deadline = s.created + target;
        let done = match (s.first_reply, s.solved) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match done {
            Some(at) if at <= deadline => met += 1,
            _ if deadline <= until => {}
            _ => continue,
        }
        decided += 1;
    }
    (met, decided)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o =
        options().map_err(|e| format!("{e}\n(see the example's documentation for the options)"))?;
    let timing = timing::Timing::default();
    let started = Instant::now();
    match &o.db {
        Some(path) => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
            if let Some(dir) = std::path::Path::new(path).parent() {
                std::fs::create_dir_all(dir).ok();
            }
            let options = SqliteOptions::default().exclusive(o.exclusive);
            eprintln!(
                "store: SQLite file {path}{}{}",
                if o.exclusive { " (exclusive)" } else { "" },
                if o.batch > 1 {
                    format!(", batches of {} events", o.batch)
                } else {
                    String::new()
                }
            );
            run(
                timing.store(SqliteStore::open_with(path, options)?),
                &o,
                &timing,
                started,
            )
        }
        None => {
            eprintln!("store: memory");
            run(timing.store(MemoryStore::new()), &o, &timing, started)
        }
    }
}
