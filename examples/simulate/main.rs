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
//! draining a queue would; default 1, every operation commits alone).

mod html;
mod timing;
mod world;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::io::Write;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use throughline::metrics::{Csat, Filter};
use throughline::routing::RoutingConfig;
use throughline::sla::Metric;
use throughline::store::{MemoryStore, SqliteOptions, SqliteStore, Store};
use throughline::triage::TriageConfig;
use throughline::{
    AgentId, Channel, ConversationId, Desk, DeskConfig, Effect, Identifier, Inbound, ReplyOptions,
    Status, TenantId,
};

/// A small seeded generator (xorshift*), so a run is reproducible.
pub struct Rng(u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

struct Options {
    messages: u64,
    customers: u64,
    agents: usize,
    days: i64,
    seed: u64,
    db: Option<String>,
    html: String,
    exclusive: bool,
    batch: u64,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        messages: 30_000,
        customers: 4_000,
        agents: 50,
        days: 30,
        seed: 42,
        db: Some("target/simulate.db".into()),
        html: "target/simulate-report.html".into(),
        exclusive: false,
        batch: 1,
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
                o.agents = num(args.get(i + 1), "--agents")?.max(1) as usize;
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

/// What happens next in the simulated month.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// A customer starts a contact.
    Contact { customer: u64 },
    /// The customer writes again in the same case (`insist`: after a bot answer).
    FollowUp {
        customer: u64,
        conversation: ConversationId,
        intent: usize,
        insist: bool,
    },
    /// An e-mail still unanswered after a day: most customers call.
    PhoneFallback {
        customer: u64,
        conversation: ConversationId,
        intent: usize,
        /// When the e-mail arrived: only a reply after it answers it.
        sent: DateTime<Utc>,
    },
    /// The agent answers and solves.
    AgentWork {
        conversation: ConversationId,
        agent: AgentId,
    },
    /// Two days after a bot answer without a reply: the host closes the case as solved.
    BotSolve { conversation: ConversationId },
    /// The desk's scheduler.
    Tick,
}

struct Sim<S: Store> {
    desk: Desk<S>,
    tenant: TenantId,
    rng: Rng,
    queue: BinaryHeap<Reverse<(DateTime<Utc>, u64, Event)>>,
    seq: u64,
    customers: Vec<world::Customer>,
    ingested: u64,
    duplicates: u64,
    ext: u64,
    assigned_at: HashMap<ConversationId, DateTime<Utc>>,
    waiting_since: HashMap<ConversationId, DateTime<Utc>>,
    waits: Vec<i64>,
    breaches: BTreeMap<String, u64>,
    breached: std::collections::HashSet<ConversationId>,
    reopened: u64,
    warnings: u64,
    handovers: u64,
    phone_fallbacks: u64,
    by_hour: [u64; 24],
    conversation_intent: HashMap<ConversationId, usize>,
}

impl<S: Store> Sim<S> {
    fn at(&mut self, when: DateTime<Utc>, e: Event) {
        self.seq += 1;
        self.queue.push(Reverse((when, self.seq, e)));
    }

    fn identifier(&self, customer: u64, channel: &Channel) -> Identifier {
        match channel {
            Channel::Sms | Channel::Voice => {
                Identifier::phone(&format!("+3161{:07}", customer % 10_000_000), None)
            }
            Channel::WhatsApp => {
                Identifier::whatsapp(&format!("+3161{:07}", customer % 10_000_000), None)
            }
            Channel::Line => Identifier::handle(
                throughline::identity::IdentifierKind::Line,
                &format!("U{customer:08x}"),
            ),
            Channel::Twitter => Identifier::handle(
                throughline::identity::IdentifierKind::Twitter,
                &format!("@cust{customer}"),
            ),
            _ => Identifier::email(&format!("customer{customer}@example.com")),
        }
        .expect("valid simulated identifier")
    }

    /// Delivers one inbound message (sometimes twice, as webhooks are) and reacts.
    fn deliver(
        &mut self,
        customer: u64,
        channel: Channel,
        body: String,
        now: DateTime<Utc>,
    ) -> Option<(ConversationId, Vec<Effect>)> {
        self.ext += 1;
        let from = self.identifier(customer, &channel);
        let inbound = Inbound::new(
            self.tenant,
            channel,
            from,
            format!("ext-{}", self.ext),
            body,
        );
        let got = match self.desk.ingest(inbound.clone(), now) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("\ningest failed: {e}");
                return None;
            }
        };
        self.ingested += 1;
        self.by_hour[now.hour() as usize] += 1;
        if self.rng.chance(30) {
            // The provider retries its webhook.
            if self
                .desk
                .ingest(inbound, now + TimeDelta::seconds(2))
                .is_ok_and(|r| r.duplicate)
            {
                self.duplicates += 1;
            }
        }
        self.react(&got.effects, now);
        Some((got.conversation, got.effects))
    }

    fn react(&mut self, effects: &[Effect], now: DateTime<Utc>) {
        for e in effects {
            match e {
                Effect::Assigned {
                    conversation,
                    agent,
                    ..
                } => {
                    self.assigned_at.insert(*conversation, now);
                    let since = self.waiting_since.remove(conversation).unwrap_or(now);
                    self.waits.push((now - since).num_seconds());
                    // Handle time: live channels minutes, others up to a few hours.
                    let mins = 3 + self.rng.below(40) as i64;
                    self.at(
                        now + TimeDelta::minutes(mins),
                        Event::AgentWork {
                            conversation: *conversation,
                            agent: *agent,
                        },
                    );
                }
                Effect::SlaBreached {
                    metric,
                    conversation,
                    ..
                } => {
                    *self.breaches.entry(format!("{metric:?}")).or_default() += 1;
                    self.breached.insert(*conversation);
                }
                Effect::ConversationReopened { .. } => self.reopened += 1,
                Effect::SlaWarning { .. } => self.warnings += 1,
                Effect::HandedOver { .. } => self.handovers += 1,
                Effect::Queued { conversation, .. } => {
                    self.waiting_since.entry(*conversation).or_insert(now);
                }
                _ => {}
            }
        }
    }

    fn step(&mut self, now: DateTime<Utc>, e: Event, end: DateTime<Utc>) {
        match e {
            Event::Contact { customer } => {
                let intent = pick_intent(&mut self.rng);
                let c = &self.customers[customer as usize];
                let channel =
                    c.channels[self.rng.below(c.channels.len() as u64 - 1) as usize].clone();
                let lang = c.lang;
                if self.rng.chance(250) {
                    let ident = self.identifier(customer, &Channel::Email);
                    let article = if intent == 0 {
                        "kb/where-is-my-order"
                    } else {
                        "kb/returns"
                    };
                    let _ = self.desk.article_viewed(
                        self.tenant,
                        &ident,
                        article,
                        None,
                        now - TimeDelta::minutes(10),
                    );
                }
                let n = 10_000 + self.rng.below(90_000);
                let body = world::text(world::INTENT_MIX[intent].0, lang, n);
                if let Some((conv, effects)) = self.deliver(customer, channel.clone(), body, now) {
                    self.conversation_intent.insert(conv, intent);
                    let bot_answered = effects.iter().any(|e| matches!(e, Effect::Send(_)));
                    if bot_answered && self.rng.chance(if intent == 2 { 900 } else { 200 }) {
                        // Automated flows need an answer; some self-service readers insist.
                        let later = now + TimeDelta::minutes(2 + self.rng.below(30) as i64);
                        self.at(
                            later,
                            Event::FollowUp {
                                customer,
                                conversation: conv,
                                intent,
                                insist: intent != 2,
                            },
                        );
                    }
                    if bot_answered {
                        self.at(
                            now + TimeDelta::hours(48),
                            Event::BotSolve { conversation: conv },
                        );
                    }
                    if channel == Channel::Email && !bot_answered {
                        self.at(
                            now + TimeDelta::hours(24),
                            Event::PhoneFallback {
                                customer,
                                conversation: conv,
                                intent,
                                sent: now,
                            },
                        );
                    } else if self.rng.chance(150) {
                        // Writes again later, often on another channel.
                        let later = now + TimeDelta::hours(1 + self.rng.below(30) as i64);
                        self.at(
                            later,
                            Event::FollowUp {
                                customer,
                                conversation: conv,
                                intent,
                                insist: false,
                            },
                        );
                    }
                }
            }
            Event::FollowUp {
                customer,
                conversation,
                intent,
                insist,
            } => {
                let c = &self.customers[customer as usize];
                let channel =
                    c.channels[self.rng.below(c.channels.len() as u64 - 1) as usize].clone();
                let body = if intent == 2 && !insist {
                    format!("Order {}", 10_000 + self.rng.below(90_000))
                } else if insist {
                    "That did not help, I need to talk to someone please".to_string()
                } else {
                    world::text(
                        world::INTENT_MIX[intent].0,
                        c.lang,
                        10_000 + self.rng.below(90_000),
                    )
                };
                let _ = conversation;
                self.deliver(customer, channel, body, now);
            }
            Event::PhoneFallback {
                customer,
                conversation,
                intent,
                sent,
            } => {
                // Answered: an agent wrote in the conversation since the e-mail arrived
                // (earlier replies in a reopened conversation do not answer it).
                let answered = self
                    .desk
                    .messages((self.tenant, conversation))
                    .map(|ms| {
                        ms.iter()
                            .any(|m| m.author.is_human_agent() && m.received_at >= sent)
                    })
                    .unwrap_or(true);
                if !answered && self.rng.chance(710) {
                    self.phone_fallbacks += 1;
                    let lang = self.customers[customer as usize].lang;
                    let body = world::text(
                        world::INTENT_MIX[intent].0,
                        lang,
                        10_000 + self.rng.below(90_000),
                    );
                    self.deliver(customer, Channel::Voice, body, now);
                }
            }
            Event::AgentWork {
                conversation,
                agent,
            } => {
                // With the tenant, the desk reads the conversation by its full key.
                let conversation = (self.tenant, conversation);
                if let Ok(conv) = self.desk.conversation(conversation) {
                    if conv.assignee == Some(agent) && conv.status.is_active() {
                        let created = conv.created_at;
                        // The answer and the solve in one operation ("submit as solved").
                        if let Ok(effects) = self.desk.reply_with(
                            conversation,
                            ReplyOptions::new(agent, "Thanks for waiting, this is sorted now.")
                                .submit_as(Status::Solved),
                            now,
                        ) {
                            self.react(&effects, now);
                        }
                        if self.rng.chance(350) {
                            let wait = (now - created).num_hours();
                            let score = if wait < 4 {
                                5
                            } else if wait < 24 {
                                4
                            } else {
                                2 + self.rng.below(2) as u8
                            };
                            let _ = self.desk.record_csat(
                                conversation,
                                Csat::FivePoint(score),
                                now + TimeDelta::minutes(30),
                            );
                        }
                    }
                }
            }
            Event::BotSolve { conversation } => {
                if self
                    .desk
                    .conversation((self.tenant, conversation))
                    .is_ok_and(|c| c.status == Status::Pending && c.assignee.is_none())
                {
                    if let Ok(effects) =
                        self.desk
                            .set_status((self.tenant, conversation), Status::Solved, now)
                    {
                        self.react(&effects, now);
                    }
                }
            }
            Event::Tick => {
                if let Ok(effects) = self.desk.tick(now) {
                    self.react(&effects, now);
                }
                let next = now + TimeDelta::minutes(15);
                if next < end + TimeDelta::days(3) {
                    self.at(next, Event::Tick);
                }
            }
        }
    }
}

fn pick_intent(r: &mut Rng) -> usize {
    let mut x = r.below(1000);
    for (i, (_, w)) in world::INTENT_MIX.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    0
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
    let config = DeskConfig::default()
        .id_seed(o.seed)
        .triage(TriageConfig::new(world::catalogue()))
        .probe(timing.stages.clone())
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
        );
    let mut desk = Desk::new(store, config);
    for a in world::agents(tenant, o.agents) {
        desk.upsert_agent(a, start)?;
    }
    let mut rng = Rng(o.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let customers: Vec<world::Customer> = (0..o.customers)
        .map(|n| world::customer(n, &mut rng))
        .collect();
    let mut sim = Sim {
        desk,
        tenant,
        rng,
        queue: BinaryHeap::new(),
        seq: 0,
        customers,
        ingested: 0,
        duplicates: 0,
        ext: 0,
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
    };
    // Contacts spread over the month by hour of day; about 1.3 messages per contact.
    let contacts = (o.messages as f64 / 1.3) as u64;
    let total_weight: u64 = (0..24).map(hour_weight).sum();
    for k in 0..contacts {
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
        sim.at(when, Event::Contact { customer });
        let _ = k;
    }
    sim.at(start, Event::Tick);
    let mut last_print = Instant::now();
    let mut out = std::io::stderr();
    // With `--batch N`, the desk commits every N events together, the way a host that
    // drains a queue of webhooks and agent actions would (`Desk::begin_batch`).
    let mut batched = 0;
    while let Some(Reverse((now, _, e))) = sim.queue.pop() {
        if sim.ingested >= o.messages && !matches!(e, Event::AgentWork { .. } | Event::Tick) {
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
    let elapsed = started.elapsed();
    // Taken now: the recomputation below reads the store too, outside the timed month.
    let split = timing.split(elapsed);

    // The report.
    let filter = Filter::period(start, end + TimeDelta::days(3));
    let live = sim.desk.report(tenant, &filter)?;
    let stored = sim.desk.report_from_store(tenant, &filter)?;
    let irritants = sim
        .desk
        .irritant_report(tenant, start, end + TimeDelta::days(3))?;
    let attainment = sim.desk.sla_attainment(tenant, &filter)?;
    let mut text = String::new();
    let secs = |d: Option<i64>| d.map_or("-".to_string(), |s| format!("{}m{:02}s", s / 60, s % 60));
    text += &format!(
        "A simulated month: {} customers, {} agents in 3 time zones, {} days\n",
        o.customers, o.agents, o.days
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
    text += &format!("  channel switches: {} in {} conversations; phone calls after an unanswered e-mail: {}\n\n", live.channel_switches, live.with_channel_switch, sim.phone_fallbacks);
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
    let mut w = sim.waits.clone();
    w.sort_unstable();
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
    text += &format!(
        "live metrics equal the metrics recomputed from the store: {}\n",
        format!("{live:?}") == format!("{stored:?}")
    );
    text += &format!(
        "conversations with a breach reported as an effect equal those the stored clocks show: {}\n",
        sim.breached.len() == attainment.conversations - attainment.all_met
    );
    println!("{text}");
    html::write(&o.html, &text, &live, &irritants, &sim.by_hour, &w)?;
    println!("HTML report: {}", o.html);
    Ok(())
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
