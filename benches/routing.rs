//! Routing decisions among 1,000 and 10,000 agents (indexed eligibility) beside a linear
//! scan over all agents with the same checks and policy, same run; enqueue/dequeue cost
//! with 10,000 and 1,000,000 waiting items; and offering a freed agent work with 10 and
//! 10,000 items of other languages waiting ahead.
//!
//! ```sh
//! cargo bench --bench routing
//! ```

use std::hint::black_box;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use throughline::routing::{
    Agent, Candidate, Requirements, Router, RoutingConfig, RoutingPolicy, SkillsMatch, WorkItem,
};
use throughline::{AgentId, Channel, ConversationId, TenantId};

const SKILLS: usize = 20;
const LANGS: [&str; 10] = ["en", "nl", "de", "fr", "es", "it", "pt", "sv", "pl", "ja"];

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-0000000be4c7".parse().unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `n` agents, each with 3 of 20 skills, 1-2 of 10 languages, chat and e-mail.
fn agents(n: usize) -> Vec<Agent> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|i| {
            let mut a = Agent::new(
                AgentId::from_uuid(uuid::Uuid::from_u128(i as u128 + 1)),
                tenant(),
                format!("agent {i}"),
            )
            .channel(Channel::WebChat)
            .channel(Channel::Email)
            .capacity(5);
            for _ in 0..3 {
                a = a.skill(
                    format!("skill{}", rng.next() % SKILLS as u64),
                    1 + (rng.next() % 10) as u8,
                );
            }
            for _ in 0..1 + rng.next() % 2 {
                a = a.language(LANGS[(rng.next() % 10) as usize]);
            }
            a
        })
        .collect()
}

fn item(k: u64) -> WorkItem {
    WorkItem {
        tenant: tenant(),
        conversation: ConversationId::from_uuid(uuid::Uuid::from_u128(u128::from(k) + 1)),
        requirements: Requirements::new(Channel::WebChat)
            .skill(format!("skill{}", k % SKILLS as u64), 3)
            .language(LANGS[(k % 10) as usize]),
        previous_agent: None,
        enqueued_at: t0(),
        steps_applied: 0,
    }
}

/// The baseline: every agent checked and scored, no index.
fn scan(
    agents: &[Agent],
    item: &WorkItem,
    policy: &SkillsMatch,
    now: DateTime<Utc>,
) -> Option<AgentId> {
    let r = &item.requirements;
    let mut best: Option<(f64, AgentId)> = None;
    for a in agents {
        if a.tenant != item.tenant || !a.on_duty(now) {
            continue;
        }
        if !a.channels.is_empty() && !a.channels.contains(&r.channel) {
            continue;
        }
        if r.language
            .as_ref()
            .is_some_and(|l| !a.languages.is_empty() && !a.languages.contains(l))
        {
            continue;
        }
        let mut level = 0u32;
        let mut ok = true;
        for s in &r.skills {
            match a.skills.get(&s.name) {
                Some(l) if *l >= s.min_level => level += u32::from(*l),
                _ => ok = false,
            }
        }
        if !ok || a.capacity < r.units {
            continue;
        }
        let c = Candidate {
            agent: a,
            load: 0,
            last_assigned: None,
            skill_level: level,
        };
        let s = policy.score(item, &c, now).total;
        if best.is_none_or(|b| s > b.0 || (s == b.0 && a.id < b.1)) {
            best = Some((s, a.id));
        }
    }
    best.map(|b| b.1)
}

fn decisions(c: &mut Criterion) {
    let mut g = c.benchmark_group("routing_decision");
    for n in [1_000usize, 10_000] {
        let list = agents(n);
        let mut router = Router::new(&RoutingConfig::default().policy(SkillsMatch::default()));
        for a in &list {
            router.upsert_agent(a.clone(), t0()).unwrap();
        }
        let policy = SkillsMatch::default();
        // The index and the scan agree.
        for k in 0..50 {
            assert_eq!(
                router.decide(&item(k), t0()).agent,
                scan(&list, &item(k), &policy, t0())
            );
        }
        let mut k = 0;
        g.bench_function(format!("indexed_{n}"), |b| {
            b.iter(|| {
                k += 1;
                black_box(router.decide(&item(k), t0()))
            })
        });
        g.bench_function(format!("scan_baseline_{n}"), |b| {
            b.iter(|| {
                k += 1;
                black_box(scan(&list, &item(k), &policy, t0()))
            })
        });
    }
    g.finish();
}

fn queues(c: &mut Criterion) {
    let mut g = c.benchmark_group("routing_queue");
    g.sample_size(20);
    for n in [10_000u64, 1_000_000] {
        // No agents: everything waits.
        let mut router = Router::new(&RoutingConfig::default());
        for k in 0..n {
            let mut it = item(k);
            it.enqueued_at = t0() + TimeDelta::seconds(k as i64);
            router.route(it, t0());
        }
        let mut k = n;
        g.bench_function(format!("enqueue_dequeue_{n}_waiting"), |b| {
            b.iter(|| {
                k += 1;
                let it = item(k);
                let conv = it.conversation;
                router.route(it, t0());
                black_box(router.release(tenant(), conv, t0()));
            })
        });
    }
    g.finish();
}

/// An agent frees up with `backlog` items waiting in other languages ahead of the ones
/// in theirs: offering them work must not walk the whole backlog.
fn offers(c: &mut Criterion) {
    /// Item numbers of the agent's language (apart from the backlog's).
    const FIRST: u64 = 1_000_000_000;
    let mut g = c.benchmark_group("routing_offer");
    g.sample_size(20);
    for backlog in [10u64, 10_000] {
        let mut router = Router::new(&RoutingConfig::default());
        let agent = Agent::new(
            AgentId::from_uuid(uuid::Uuid::from_u128(1)),
            tenant(),
            "the Japanese desk",
        )
        .channel(Channel::WebChat)
        .language("ja")
        .capacity(1);
        router.upsert_agent(agent, t0()).unwrap();
        let japanese = |k: u64| {
            let mut it = item(k);
            it.requirements = Requirements::new(Channel::WebChat).language("ja");
            it.enqueued_at = t0() + TimeDelta::days(1) + TimeDelta::seconds((k - FIRST) as i64);
            it
        };
        // The agent's current conversation, then the backlog (older, other languages).
        let mut held = japanese(FIRST).conversation;
        router.route(japanese(FIRST), t0());
        for k in 0..backlog {
            let mut it = item(k);
            if LANGS[(k % 10) as usize] == "ja" {
                it.requirements.language = Some("nl".into());
            }
            it.enqueued_at = t0() + TimeDelta::seconds(k as i64);
            router.route(it, t0());
        }
        let mut k = FIRST;
        g.bench_function(format!("freed_agent_{backlog}_waiting_elsewhere"), |b| {
            b.iter(|| {
                // One more waits for the agent; releasing their conversation hands it over.
                k += 1;
                router.route(japanese(k), t0());
                let decisions = router.release(tenant(), held, t0());
                held = decisions[0].conversation;
                black_box(decisions);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, decisions, queues, offers);
criterion_main!(benches);
