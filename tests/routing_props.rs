//! Routing invariants under random agents, presences, shifts and operations: no agent is
//! ever above capacity; nothing is assigned to an agent who is not on duty or of another
//! tenant; the same state gives the same decision; agents are ranked by channel fit, then
//! score, and whoever qualifies takes the work.

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use proptest::prelude::*;
use throughline::routing::{
    Agent, ChannelFit, EscalationStep, Presence, Requirements, Router, RoutingConfig, Shift,
    WorkItem,
};
use throughline::{AgentId, Channel, ConversationId, TenantId};

fn tenant(n: u8) -> TenantId {
    TenantId::from_uuid(uuid::Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_0000_7e00 + u128::from(n),
    ))
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap()
}

const SKILLS: [&str; 3] = ["billing", "care", "logistics"];
const LANGS: [&str; 3] = ["en", "nl", "de"];
const CHANNELS: [Channel; 3] = [Channel::WebChat, Channel::Email, Channel::Voice];
const PRESENCES: [Presence; 4] = [
    Presence::Available,
    Presence::Busy,
    Presence::Away,
    Presence::Offline,
];

#[derive(Debug, Clone)]
enum Step {
    Route {
        tenant: u8,
        conv: u8,
        skill: Option<(usize, u8)>,
        lang: Option<usize>,
        channel: usize,
        units: u32,
        prio: usize,
    },
    Release {
        tenant: u8,
        conv: u8,
    },
    /// The host could not record an assignment.
    Unassign {
        tenant: u8,
        conv: u8,
    },
    Presence {
        tenant: u8,
        agent: u8,
        presence: usize,
    },
    Tick,
    Wait(u16),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..2u8, 0..40u8, proptest::option::of((0..3usize, 1..10u8)), proptest::option::of(0..3usize), 0..3usize, 1..4u32, 0..4usize)
            .prop_map(|(tenant, conv, skill, lang, channel, units, prio)| Step::Route { tenant, conv, skill, lang, channel, units, prio }),
        2 => (0..2u8, 0..40u8).prop_map(|(tenant, conv)| Step::Release { tenant, conv }),
        1 => (0..2u8, 0..40u8).prop_map(|(tenant, conv)| Step::Unassign { tenant, conv }),
        1 => (0..2u8, 0..8u8, 0..4usize).prop_map(|(tenant, agent, presence)| Step::Presence { tenant, agent, presence }),
        1 => Just(Step::Tick),
        1 => (1..600u16).prop_map(Step::Wait),
    ]
}

fn agent_id(tenant: u8, n: u8) -> AgentId {
    AgentId::from_uuid(uuid::Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_0000_a000 + u128::from(tenant) * 256 + u128::from(n),
    ))
}

fn conv_id(tenant: u8, n: u8) -> ConversationId {
    ConversationId::from_uuid(uuid::Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_0000_c000 + u128::from(tenant) * 256 + u128::from(n),
    ))
}

/// tenant, id, skills, languages, channels, capacity, presence, has a shift
type AgentSpec = (
    u8,
    u8,
    Vec<(usize, u8)>,
    Vec<usize>,
    Vec<usize>,
    u32,
    usize,
    bool,
);

fn agents() -> impl Strategy<Value = Vec<AgentSpec>> {
    proptest::collection::vec(
        (
            0..2u8,
            0..8u8,
            proptest::collection::vec((0..3usize, 1..11u8), 0..3),
            proptest::collection::vec(0..3usize, 0..3),
            proptest::collection::vec(0..3usize, 0..3),
            1..6u32,
            0..4usize,
            any::<bool>(),
        ),
        1..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn routing_invariants(agent_specs in agents(), steps in proptest::collection::vec(step(), 1..80)) {
        let config = RoutingConfig::default()
            .escalate(EscalationStep::after(TimeDelta::minutes(2)).drop_language().drop_optional_skills())
            .escalate(EscalationStep::after(TimeDelta::minutes(6)).lower_levels_by(5).raise_priority());
        let mut router = Router::new(&config);
        let mut now = t0();
        for (tn, n, skills, langs, chans, cap, presence, shift) in agent_specs {
            let mut a = Agent::new(agent_id(tn, n), tenant(tn), format!("a{tn}-{n}")).capacity(cap).presence(PRESENCES[presence]);
            for (s, l) in skills { a = a.skill(SKILLS[s], l); }
            for l in langs { a = a.language(LANGS[l]); }
            for c in chans { a = a.channel(CHANNELS[c].clone()); }
            if shift {
                a = a.shift(Shift::weekdays("Asia/Tokyo", NaiveTime::from_hms_opt(9, 0, 0).unwrap(), NaiveTime::from_hms_opt(17, 0, 0).unwrap()).unwrap());
            }
            router.upsert_agent(a, now).unwrap();
        }
        for s in steps {
            let before = router.clone();
            let decisions = match &s {
                Step::Route { tenant: tn, conv, skill, lang, channel, units, prio } => {
                    let mut req = Requirements::new(CHANNELS[*channel].clone()).units(*units)
                        .priority(throughline::conversation::Priority::ALL[*prio]);
                    if let Some((sk, l)) = skill { req = req.skill(SKILLS[*sk], *l); }
                    if let Some(l) = lang { req = req.language(LANGS[*l]); }
                    let item = WorkItem { tenant: tenant(*tn), conversation: conv_id(*tn, *conv), requirements: req, previous_agent: None, enqueued_at: now, steps_applied: 0 };
                    // The same state gives the same decision.
                    let mut twin = before.clone();
                    let d = router.route(item.clone(), now);
                    prop_assert_eq!(&twin.route(item, now), &d);
                    if d.policy != "already assigned" {
                        // Channel fit is a preference, never a condition: whoever
                        // qualifies takes the work, best fit first, then best score.
                        prop_assert_eq!(d.agent, d.candidates.first().map(|c| c.agent));
                        for w in d.candidates.windows(2) {
                            prop_assert!(w[0].fit < w[1].fit || (w[0].fit == w[1].fit && w[0].score >= w[1].score), "ranked {:?}", d.candidates);
                        }
                        if d.live.is_none() {
                            prop_assert!(d.candidates.iter().all(|c| c.fit == ChannelFit::AnyChannel));
                        }
                    }
                    vec![(tenant(*tn), d)]
                }
                Step::Release { tenant: tn, conv } => router.release(tenant(*tn), conv_id(*tn, *conv), now).into_iter().map(|d| (tenant(*tn), d)).collect(),
                Step::Unassign { tenant: tn, conv } => {
                    let (t, c) = (tenant(*tn), conv_id(*tn, *conv));
                    let holder = router.assignment(t, c);
                    let loads_before: Vec<(String, u32)> = router.agents(t).into_iter().map(|(a, l)| (a.name.clone(), l)).collect();
                    let waiting_before = router.waiting(t).len();
                    prop_assert_eq!(router.unassign(t, c, now), holder.is_some());
                    prop_assert_eq!(router.assignment(t, c), None);
                    if let Some(a) = holder {
                        // Back in the queue, the capacity back with its agent, nothing offered.
                        prop_assert!(router.is_waiting(t, c));
                        prop_assert_eq!(router.waiting(t).len(), waiting_before + 1);
                        prop_assert_eq!(router.next_due().map(|d| d <= now), Some(true));
                        let units = router.waiting(t).into_iter().find(|w| w.conversation == c).unwrap().requirements.units;
                        for ((name, before), (agent, after)) in loads_before.iter().zip(router.agents(t)) {
                            let want = if agent.id == a { before - units } else { *before };
                            prop_assert_eq!(after, want, "load of {}", name);
                        }
                    } else {
                        prop_assert_eq!(router.waiting(t).len(), waiting_before);
                    }
                    Vec::new()
                }
                Step::Presence { tenant: tn, agent, presence } => match router.set_presence(tenant(*tn), agent_id(*tn, *agent), PRESENCES[*presence], now) {
                    Ok(ds) => ds.into_iter().map(|d| (tenant(*tn), d)).collect(),
                    Err(_) => Vec::new(),
                },
                Step::Tick => router.tick(now).into_iter().map(|(w, _, d)| (w.tenant, d)).collect(),
                Step::Wait(mins) => { now += TimeDelta::minutes(i64::from(*mins)); Vec::new() }
            };
            for (tn, d) in decisions {
                if d.policy == "already assigned" {
                    continue; // an earlier assignment, checked when it was made
                }
                if let Some(a) = d.agent {
                    let agent = router.agent(tn, a);
                    prop_assert!(agent.is_some(), "assigned across tenants: {a} not in {tn}");
                    let agent = agent.unwrap();
                    prop_assert!(agent.on_duty(now), "assigned to an agent not on duty: {:?}", agent.presence);
                    prop_assert_eq!(router.assignment(tn, d.conversation), Some(a));
                }
            }
            for tn in [tenant(0), tenant(1)] {
                for w in router.waiting(tn) {
                    prop_assert_eq!(router.assignment(tn, w.conversation), None, "waiting and assigned");
                }
                for (agent, load) in router.agents(tn) {
                    prop_assert!(load <= agent.capacity, "{} has {} of {}", agent.name, load, agent.capacity);
                    prop_assert_eq!(agent.tenant, tn);
                }
            }
        }
    }
}
