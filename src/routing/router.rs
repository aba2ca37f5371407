//! The routing engine: agent pools with indexes, queues with priority and aging,
//! escalation steps, and explainable, deterministic decisions. Pure: no clock, no I/O.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::agent::{Agent, Presence};
use super::policy::{better, Candidate, RoutingPolicy};
use super::waiting::{Needs, Waiting};
use super::work::{
    ChannelFit, Decision, EscalationStep, Exclusion, Requirements, Scored, WorkItem,
};
use super::RoutingConfig;
use crate::channel::Channel;
use crate::conversation::Priority;
use crate::error::{Error, Result};
use crate::id::{AgentId, ConversationId, TenantId};

mod fit;
mod manual;
mod stored;
mod tick;

/// How many candidates and exclusions a decision lists (the rest are counted).
const LISTED: usize = 5;
const LISTED_EXCLUSIONS: usize = 20;

#[derive(Debug, Clone)]
struct AgentState {
    agent: Agent,
    load: u32,
    last_assigned: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
struct Pool {
    agents: BTreeMap<AgentId, AgentState>,
    by_skill: HashMap<String, BTreeSet<AgentId>>,
    by_language: HashMap<String, BTreeSet<AgentId>>,
    by_channel: HashMap<Channel, BTreeSet<AgentId>>,
    all_channels: BTreeSet<AgentId>,
    /// Agents who list no language: they take any.
    all_languages: BTreeSet<AgentId>,
    by_queue: HashMap<String, BTreeSet<AgentId>>,
    /// Agents who list no queue: they serve every queue.
    all_queues: BTreeSet<AgentId>,
    waiting: Waiting,
    assigned: HashMap<ConversationId, Assignment>,
    /// What changed since [`Router::take_touched`] last asked: the agents and work items
    /// a host that keeps routing state in a store writes back.
    touched: Touched,
}

/// The agents and conversations whose routing state changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Touched {
    /// Agents whose definition, presence or load changed.
    pub(crate) agents: BTreeSet<AgentId>,
    /// Conversations that were assigned, queued, released or re-queued.
    pub(crate) work: BTreeSet<ConversationId>,
    /// The next shift start of the tenant's agents, when a shift start recomputed it.
    pub(crate) next_shift: Option<Option<DateTime<Utc>>>,
}

/// Assigned work: who has it, and the item (to put it back in its queue if the
/// assignment cannot be recorded).
#[derive(Debug, Clone)]
struct Assignment {
    agent: AgentId,
    item: WorkItem,
}

impl Pool {
    /// Takes a conversation out of its queue.
    fn unwait(&mut self, conversation: ConversationId) -> Option<WorkItem> {
        let item = self.waiting.remove(conversation)?;
        self.touched.work.insert(conversation);
        Some(item)
    }

    /// Takes a conversation from its agent (whose capacity is not yet given back).
    fn unassign(&mut self, conversation: ConversationId) -> Option<Assignment> {
        let a = self.assigned.remove(&conversation)?;
        self.touched.work.insert(conversation);
        Some(a)
    }

    fn unindex(&mut self, a: &Agent) {
        for s in a.skills.keys() {
            if let Some(set) = self.by_skill.get_mut(s) {
                set.remove(&a.id);
            }
        }
        for l in &a.languages {
            if let Some(set) = self.by_language.get_mut(l) {
                set.remove(&a.id);
            }
        }
        for c in &a.channels {
            if let Some(set) = self.by_channel.get_mut(c) {
                set.remove(&a.id);
            }
        }
        for q in &a.queues {
            if let Some(set) = self.by_queue.get_mut(q) {
                set.remove(&a.id);
            }
        }
        self.all_channels.remove(&a.id);
        self.all_languages.remove(&a.id);
        self.all_queues.remove(&a.id);
    }

    fn index(&mut self, a: &Agent) {
        for s in a.skills.keys() {
            self.by_skill.entry(s.clone()).or_default().insert(a.id);
        }
        for l in &a.languages {
            self.by_language.entry(l.clone()).or_default().insert(a.id);
        }
        if a.languages.is_empty() {
            self.all_languages.insert(a.id);
        }
        if a.channels.is_empty() {
            self.all_channels.insert(a.id);
        }
        for c in &a.channels {
            self.by_channel.entry(c.clone()).or_default().insert(a.id);
        }
        for q in &a.queues {
            self.by_queue.entry(q.clone()).or_default().insert(a.id);
        }
        if a.queues.is_empty() {
            self.all_queues.insert(a.id);
        }
    }

    /// The capacity an assignment held goes back to its agent.
    fn give_back(&mut self, a: &Assignment) {
        if let Some(st) = self.agents.get_mut(&a.agent) {
            st.load = st.load.saturating_sub(a.item.requirements.units);
            self.touched.agents.insert(a.agent);
        }
    }

    /// Agents that have every required skill and the language, and work the channel,
    /// found by intersecting the index sets smallest first; plus what nobody has.
    fn matching(&self, r: &Requirements) -> (Vec<AgentId>, Vec<String>) {
        let mut sets: Vec<&BTreeSet<AgentId>> = Vec::new();
        let mut unmatched = Vec::new();
        for s in &r.skills {
            match self.by_skill.get(&s.name) {
                Some(set) if !set.is_empty() => sets.push(set),
                _ => unmatched.push(format!("skill {}", s.name)),
            }
        }
        // Agents who list no language take any: with some of them around, the language
        // is checked per agent instead of through the index.
        let language_set = r.language.as_ref().and_then(|l| self.by_language.get(l));
        let mut check_language = false;
        if let Some(l) = &r.language {
            match language_set {
                Some(set) if !set.is_empty() && self.all_languages.is_empty() => sets.push(set),
                _ if !self.all_languages.is_empty() => check_language = true,
                _ => unmatched.push(format!("language {l}")),
            }
        }
        let channel_set = self.by_channel.get(&r.channel);
        if channel_set.is_none_or(BTreeSet::is_empty) && self.all_channels.is_empty() {
            unmatched.push(format!("channel {}", r.channel));
        }
        let queue_set = self.by_queue.get(&r.queue);
        if queue_set.is_none_or(BTreeSet::is_empty) && self.all_queues.is_empty() {
            unmatched.push(format!("queue {}", r.queue));
        }
        if !unmatched.is_empty() {
            return (Vec::new(), unmatched);
        }
        let works_channel = |a: &AgentId| {
            (self.all_channels.contains(a) || channel_set.is_some_and(|s| s.contains(a)))
                && (self.all_queues.contains(a) || queue_set.is_some_and(|s| s.contains(a)))
        };
        let speaks = |a: &AgentId| {
            !check_language
                || self.all_languages.contains(a)
                || language_set.is_some_and(|s| s.contains(a))
        };
        sets.sort_by_key(|s| s.len());
        let out: Vec<AgentId> = match sets.split_first() {
            Some((first, rest)) => first
                .iter()
                .filter(|a| rest.iter().all(|s| s.contains(a)) && works_channel(a) && speaks(a))
                .copied()
                .collect(),
            None => {
                let mut all: BTreeSet<AgentId> = self.all_channels.clone();
                if let Some(s) = channel_set {
                    all.extend(s.iter().copied());
                }
                all.into_iter()
                    .filter(|a| speaks(a) && works_channel(a))
                    .collect()
            }
        };
        (out, unmatched)
    }

    fn check(
        &self,
        st: &AgentState,
        r: &Requirements,
        now: DateTime<Utc>,
    ) -> std::result::Result<u32, Exclusion> {
        if st.agent.presence != Presence::Available {
            return Err(Exclusion::NotAvailable);
        }
        if st.agent.shift.as_ref().is_some_and(|s| !s.covers(now)) {
            return Err(Exclusion::OutOfShift);
        }
        let skills = r.skills.iter().map(|s| (s.name.as_str(), s.min_level));
        Self::fit(st, skills, r.units).map_err(|short| match short {
            Some(skill) => Exclusion::SkillTooLow(skill.to_string()),
            None => Exclusion::AtCapacity,
        })
    }

    /// Whether the agent's skill levels and free capacity fit work that needs `skills`
    /// (name, minimum level) and `units`: the sum of their levels in those skills, or
    /// what falls short (a skill, or capacity as `None`).
    fn fit<'s>(
        st: &AgentState,
        skills: impl IntoIterator<Item = (&'s str, u8)>,
        units: u32,
    ) -> std::result::Result<u32, Option<&'s str>> {
        let mut level = 0u32;
        for (name, min_level) in skills {
            let have = st.agent.skills.get(name).copied().unwrap_or(0);
            if have < min_level {
                return Err(Some(name));
            }
            level += u32::from(have);
        }
        if st.agent.capacity.saturating_sub(st.load) < units {
            return Err(None);
        }
        Ok(level)
    }
}

/// The routing engine (one per Desk; usable alone). See the [module docs](super).
#[derive(Debug, Clone)]
pub struct Router {
    policy: Arc<dyn RoutingPolicy>,
    escalation: Vec<EscalationStep>,
    pools: HashMap<TenantId, Pool>,
    seq: u64,
    /// The previous `tick`, to notice shifts that started since.
    last_tick: Option<DateTime<Utc>>,
    /// Agents whose capacity came back through [`Router::unassign`]: offered waiting
    /// work at the next `tick`, due from the earliest of those calls.
    reoffer: BTreeSet<(TenantId, AgentId)>,
    reoffer_due: Option<DateTime<Utc>>,
    /// The next start of an agent's shift (after the last `tick` or upsert): waiting work
    /// is offered to them then.
    shift_due: Option<DateTime<Utc>>,
    /// Tenants with a policy and escalation steps of their own.
    tenant_config: HashMap<TenantId, TenantRouting>,
    /// Per tenant, the channels whose liveness differs from their default profile
    /// ([`Router::set_channel_profiles`]).
    live_channels: HashMap<TenantId, fit::LiveOverrides>,
}

/// A tenant's own routing policy and escalation steps.
type TenantRouting = (Arc<dyn RoutingPolicy>, Vec<EscalationStep>);

impl Router {
    /// A router with `config`'s policy and escalation steps, and no agents.
    pub fn new(config: &RoutingConfig) -> Router {
        Router {
            policy: config.policy.clone(),
            escalation: config.escalation.clone(),
            pools: HashMap::new(),
            seq: 0,
            last_tick: None,
            reoffer: BTreeSet::new(),
            reoffer_due: None,
            shift_due: None,
            tenant_config: HashMap::new(),
            live_channels: HashMap::new(),
        }
    }

    /// Gives `tenant` a policy and escalation steps of its own (`None`: the router's).
    pub fn configure_tenant(
        &mut self,
        tenant: TenantId,
        own: Option<(Arc<dyn RoutingPolicy>, Vec<EscalationStep>)>,
    ) {
        match own {
            Some(c) => {
                self.tenant_config.insert(tenant, c);
            }
            None => {
                self.tenant_config.remove(&tenant);
            }
        }
    }

    /// The policy that ranks `tenant`'s agents.
    fn policy_of(&self, tenant: TenantId) -> &Arc<dyn RoutingPolicy> {
        self.tenant_config
            .get(&tenant)
            .map_or(&self.policy, |c| &c.0)
    }

    /// `tenant`'s escalation steps.
    fn escalation_of(&self, tenant: TenantId) -> &[EscalationStep] {
        self.tenant_config
            .get(&tenant)
            .map_or(&self.escalation, |c| &c.1)
    }

    /// Adds or replaces an agent (keeping their current load). Work they can take is
    /// offered to them at once.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] from [`Agent::validate`].
    pub fn upsert_agent(&mut self, agent: Agent, now: DateTime<Utc>) -> Result<Vec<Decision>> {
        agent.validate()?;
        if let Some(start) = agent.shift.as_ref().and_then(|s| s.next_start(now)) {
            self.shift_due = Some(self.shift_due.map_or(start, |d| d.min(start)));
        }
        let (tenant, id) = (agent.tenant, agent.id);
        let pool = self.pools.entry(tenant).or_default();
        let (load, last) = match pool.agents.remove(&id) {
            Some(old) => {
                pool.unindex(&old.agent);
                (old.load, old.last_assigned)
            }
            None => (0, None),
        };
        pool.index(&agent);
        pool.touched.agents.insert(id);
        pool.agents.insert(
            id,
            AgentState {
                agent,
                load,
                last_assigned: last,
            },
        );
        Ok(self.offer(tenant, id, now))
    }

    /// Changes an agent's presence; an agent who becomes available is offered the oldest
    /// highest-priority waiting work they can take.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an agent the tenant does not have.
    pub fn set_presence(
        &mut self,
        tenant: TenantId,
        agent: AgentId,
        presence: Presence,
        now: DateTime<Utc>,
    ) -> Result<Vec<Decision>> {
        let st = self
            .pools
            .get_mut(&tenant)
            .and_then(|p| p.agents.get_mut(&agent))
            .ok_or_else(|| Error::not_found("agent", agent))?;
        st.agent.presence = presence;
        if let Some(pool) = self.pools.get_mut(&tenant) {
            pool.touched.agents.insert(agent);
        }
        Ok(self.offer(tenant, agent, now))
    }

    /// An agent.
    pub fn agent(&self, tenant: TenantId, agent: AgentId) -> Option<&Agent> {
        self.pools
            .get(&tenant)?
            .agents
            .get(&agent)
            .map(|s| &s.agent)
    }

    /// Units an agent has in use.
    pub fn load(&self, tenant: TenantId, agent: AgentId) -> Option<u32> {
        self.pools.get(&tenant)?.agents.get(&agent).map(|s| s.load)
    }

    /// Every agent of a tenant with their load, by id.
    pub fn agents(&self, tenant: TenantId) -> Vec<(&Agent, u32)> {
        self.pools
            .get(&tenant)
            .map(|p| p.agents.values().map(|s| (&s.agent, s.load)).collect())
            .unwrap_or_default()
    }

    /// Who has the conversation.
    pub fn assignment(&self, tenant: TenantId, conversation: ConversationId) -> Option<AgentId> {
        self.pools
            .get(&tenant)?
            .assigned
            .get(&conversation)
            .map(|a| a.agent)
    }

    /// Gives a waiting conversation a new priority (its place in the queue follows);
    /// assigned or unknown conversations are left alone.
    pub fn reprioritize(
        &mut self,
        tenant: TenantId,
        conversation: ConversationId,
        priority: Priority,
    ) {
        let Some(pool) = self.pools.get_mut(&tenant) else {
            return;
        };
        let Some(mut item) = pool.unwait(conversation) else {
            return;
        };
        item.requirements.priority = priority;
        self.enqueue(item);
    }

    /// Whether the conversation waits in a queue.
    pub fn is_waiting(&self, tenant: TenantId, conversation: ConversationId) -> bool {
        self.pools
            .get(&tenant)
            .is_some_and(|p| p.waiting.contains(conversation))
    }

    /// The work waiting in a queue, in the order it will be offered.
    pub fn queue(&self, tenant: TenantId, queue: &str) -> Vec<&WorkItem> {
        self.pools
            .get(&tenant)
            .map(|p| p.waiting.queue(queue).collect())
            .unwrap_or_default()
    }

    /// Everything waiting in the tenant, in offer order.
    pub fn waiting(&self, tenant: TenantId) -> Vec<&WorkItem> {
        let Some(p) = self.pools.get(&tenant) else {
            return Vec::new();
        };
        p.waiting.items().map(|(_, w)| w).collect()
    }

    /// Routes a work item: to the best qualifying agent with spare capacity, or into its
    /// queue. A conversation already assigned stays with its agent; one already waiting
    /// is re-routed with the new requirements.
    pub fn route(&mut self, mut item: WorkItem, now: DateTime<Utc>) -> Decision {
        let tenant = item.tenant;
        let pool = self.pools.entry(tenant).or_default();
        if let Some(a) = pool.assigned.get(&item.conversation) {
            return Decision {
                conversation: item.conversation,
                agent: Some(a.agent),
                queue: item.requirements.queue.clone(),
                policy: "already assigned".into(),
                live: None,
                candidates: Vec::new(),
                excluded: Vec::new(),
                unmatched: Vec::new(),
            };
        }
        if let Some(old) = pool.unwait(item.conversation) {
            item.enqueued_at = item.enqueued_at.min(old.enqueued_at);
            item.steps_applied = item.steps_applied.max(old.steps_applied);
        }
        let decision = self.decide(&item, now);
        match decision.agent {
            Some(agent) => self.assign(item, agent, now),
            None => self.enqueue(item),
        }
        decision
    }

    /// What [`Router::route`] would decide for `item` now, without changing anything (a
    /// what-if for explanations and tests). Qualifying agents are ranked by how their
    /// channels suit the work ([`ChannelFit`]), then by the policy's score, then by id.
    pub fn decide(&self, item: &WorkItem, now: DateTime<Utc>) -> Decision {
        let r = &item.requirements;
        let liveness = self.liveness(item.tenant);
        let live = liveness.is_live(&r.channel);
        let mut d = Decision {
            conversation: item.conversation,
            agent: None,
            queue: r.queue.clone(),
            policy: self.policy_of(item.tenant).name().to_string(),
            live: None,
            candidates: Vec::new(),
            excluded: Vec::new(),
            unmatched: Vec::new(),
        };
        let Some(pool) = self.pools.get(&item.tenant) else {
            d.unmatched.push("any agent".into());
            return d;
        };
        let (ids, unmatched) = pool.matching(r);
        d.unmatched = unmatched;
        // Only the best few keep their score parts (for the explanation); the rest are
        // compared by fit and total.
        type Ranked = (ChannelFit, f64, AgentId, super::policy::Score);
        let mut top: Vec<Ranked> = Vec::with_capacity(LISTED + 1);
        for id in ids {
            let Some(st) = pool.agents.get(&id) else {
                continue;
            };
            if !st.agent.channels.is_empty() {
                // Some agent who matches lists channels: their fit ranks them.
                d.live = Some(live);
            }
            match pool.check(st, r, now) {
                Err(why) => {
                    if d.excluded.len() < LISTED_EXCLUSIONS {
                        d.excluded.push((id, why));
                    }
                }
                Ok(level) => {
                    let c = Candidate {
                        agent: &st.agent,
                        load: st.load,
                        last_assigned: st.last_assigned,
                        skill_level: level,
                    };
                    let s = self.policy_of(item.tenant).score(item, &c, now);
                    let key = (liveness.fit(&st.agent, live), s.total, id);
                    let rank = |t: &Ranked| (t.0, t.1, t.2);
                    if top.len() == LISTED && !fit::ahead(key, rank(&top[LISTED - 1])) {
                        continue;
                    }
                    let at = top
                        .iter()
                        .position(|t| fit::ahead(key, rank(t)))
                        .unwrap_or(top.len());
                    top.insert(at, (key.0, key.1, id, s));
                    top.truncate(LISTED);
                }
            }
        }
        d.candidates = top
            .into_iter()
            .map(|(fit, score, agent, s)| Scored {
                agent,
                score,
                parts: s
                    .parts
                    .into_iter()
                    .map(|(n, v)| (n.to_string(), v))
                    .collect(),
                fit,
            })
            .collect();
        d.agent = d.candidates.first().map(|c| c.agent);
        d
    }

    fn assign(&mut self, item: WorkItem, agent: AgentId, now: DateTime<Utc>) {
        let pool = self.pools.entry(item.tenant).or_default();
        if let Some(st) = pool.agents.get_mut(&agent) {
            st.load += item.requirements.units;
            st.last_assigned = Some(now);
            pool.touched.agents.insert(agent);
        }
        pool.touched.work.insert(item.conversation);
        pool.assigned
            .insert(item.conversation, Assignment { agent, item });
    }

    fn enqueue(&mut self, item: WorkItem) {
        self.seq += 1;
        let key = (
            Reverse(item.requirements.priority),
            item.enqueued_at,
            self.seq,
        );
        // Beyond the calendar's end: never due.
        let escalates = self
            .escalation_of(item.tenant)
            .get(item.steps_applied)
            .and_then(|s| item.enqueued_at.checked_add_signed(s.after));
        let pool = self.pools.entry(item.tenant).or_default();
        pool.touched.work.insert(item.conversation);
        pool.waiting.insert(key, item, escalates);
    }

    /// Records an assignment made before a restart (capacity counted, no decision).
    pub fn restore_assignment(&mut self, item: WorkItem, agent: AgentId) {
        let pool = self.pools.entry(item.tenant).or_default();
        if pool.assigned.contains_key(&item.conversation) {
            return;
        }
        if let Some(st) = pool.agents.get_mut(&agent) {
            st.load += item.requirements.units;
            pool.touched.agents.insert(agent);
        }
        pool.touched.work.insert(item.conversation);
        pool.assigned
            .insert(item.conversation, Assignment { agent, item });
    }

    /// The conversation is done (solved, closed, transferred away): its agent's capacity
    /// frees and they are offered waiting work; a waiting conversation leaves its queue.
    pub fn release(
        &mut self,
        tenant: TenantId,
        conversation: ConversationId,
        now: DateTime<Utc>,
    ) -> Vec<Decision> {
        let Some(pool) = self.pools.get_mut(&tenant) else {
            return Vec::new();
        };
        if pool.unwait(conversation).is_some() {
            return Vec::new();
        }
        let Some(a) = pool.unassign(conversation) else {
            return Vec::new();
        };
        pool.give_back(&a);
        self.offer(tenant, a.agent, now)
    }

    /// Takes back an assignment the host could not record (the write of the assignee
    /// failed): the agent's capacity comes back without being offered to other work, and
    /// the conversation waits in its queue again, with the time it started waiting and
    /// the escalation steps it had. The agent is offered waiting work at the next
    /// [`Router::tick`], which [`Router::next_due`] says is due from `now`. Returns
    /// whether the conversation was assigned. The agent's last-assignment time (for round
    /// robin) stays as the decision set it.
    ///
    /// ```
    /// use chrono::Utc;
    /// use throughline::routing::{Agent, Requirements, Router, RoutingConfig, WorkItem};
    /// use throughline::{AgentId, Channel, ConversationId, TenantId};
    ///
    /// let (tenant, now) = (TenantId::new_v7(), Utc::now());
    /// let mut router = Router::new(&RoutingConfig::default());
    /// let agent = Agent::new(AgentId::new_v7(), tenant, "Ana").capacity(1);
    /// router.upsert_agent(agent.clone(), now)?;
    /// let item = WorkItem {
    ///     tenant,
    ///     conversation: ConversationId::new_v7(),
    ///     requirements: Requirements::new(Channel::Email),
    ///     previous_agent: None,
    ///     enqueued_at: now,
    ///     steps_applied: 0,
    /// };
    /// assert_eq!(router.route(item.clone(), now).agent, Some(agent.id));
    ///
    /// // The store refused the assignment: the work waits again and Ana is free.
    /// assert!(router.unassign(tenant, item.conversation, now));
    /// assert!(router.is_waiting(tenant, item.conversation));
    /// assert_eq!(router.load(tenant, agent.id), Some(0));
    ///
    /// // The next tick, due now, offers it to her again.
    /// assert_eq!(router.next_due(), Some(now));
    /// let offered = router.tick(now);
    /// assert_eq!(offered[0].2.agent, Some(agent.id));
    /// # Ok::<(), throughline::Error>(())
    /// ```
    pub fn unassign(
        &mut self,
        tenant: TenantId,
        conversation: ConversationId,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(pool) = self.pools.get_mut(&tenant) else {
            return false;
        };
        let Some(a) = pool.unassign(conversation) else {
            return false;
        };
        pool.give_back(&a);
        self.reoffer.insert((tenant, a.agent));
        self.reoffer_due = Some(self.reoffer_due.map_or(now, |d| d.min(now)));
        self.enqueue(a.item);
        true
    }

    /// Offers an agent the oldest highest-priority waiting work they can take, until
    /// nothing more fits.
    fn offer(&mut self, tenant: TenantId, agent: AgentId, now: DateTime<Utc>) -> Vec<Decision> {
        let mut out = Vec::new();
        while let Some(pool) = self.pools.get(&tenant) {
            let Some(st) = pool.agents.get(&agent) else {
                break;
            };
            // Whether the agent can take anything now does not depend on the work: checked
            // once here, not for every waiting item the scan passes (a shift check
            // converts the time to the agent's zone).
            if !st.agent.on_duty(now) {
                break;
            }
            // The index groups waiting work by everything eligibility depends on, so the
            // agent is checked against each group once.
            let a = &st.agent;
            let takes = |n: &Needs<'_>| {
                a.serves(n.queue)
                    && (a.channels.is_empty() || a.channels.contains(n.channel))
                    && n.language.is_none_or(|l| {
                        a.languages.is_empty() || a.languages.iter().any(|x| x == l)
                    })
                    && n.skills.iter().all(|(s, _)| a.skills.contains_key(s))
                    && Pool::fit(st, n.skills.iter().map(|(s, m)| (s.as_str(), *m)), n.units)
                        .is_ok()
            };
            let Some(conversation) = pool.waiting.first_for(takes) else {
                break;
            };
            let Some(pool) = self.pools.get_mut(&tenant) else {
                break;
            };
            let Some(item) = pool.unwait(conversation) else {
                break;
            };
            let mut d = self.decide(&item, now);
            // The freed agent takes it (the policy ranked all who qualify; if another
            // agent scores higher they would have been offered it already).
            d.agent = Some(agent);
            self.assign(item, agent, now);
            out.push(d);
        }
        out
    }
}
