//! The simulated month: what happens (contacts, follow-ups, calls after an unanswered
//! e-mail, agents' work, the scheduler's ticks) and how the simulated world reacts to
//! the Desk's effects.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use throughline::metrics::Csat;
use throughline::store::Store;
use throughline::{AgentId, Channel, ConversationId, Desk, Effect, ReplyOptions, Status, TenantId};

use crate::front::{self, Front, Hook};
use crate::world;

/// A small seeded generator (xorshift*), so a run is reproducible.
pub struct Rng(pub u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// A 64-bit mix (splitmix64's finaliser), to seed a contact's own generator.
pub fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What happens next in the simulated month.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// A customer starts a contact (the `k`th of the month, its webhook posted ahead).
    Contact { customer: u64, k: usize },
    /// The customer writes again in the same case; `hook` is the webhook posted for it.
    FollowUp { hook: u64 },
    /// An e-mail still unanswered after a day: most customers call (the call's webhook,
    /// `hook`, is posted ahead and dropped when the e-mail was answered).
    PhoneFallback {
        conversation: ConversationId,
        hook: u64,
        /// When the e-mail arrived: only a reply after it answers it.
        sent: DateTime<Utc>,
    },
    /// On a live channel the agent greets as they pick the conversation up.
    AgentGreet {
        conversation: ConversationId,
        agent: AgentId,
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

/// A contact's content, drawn from its own generator so that its webhook can be posted
/// ahead of the moment it is delivered.
pub struct ContactPlan {
    pub intent: usize,
    pub channel: Channel,
    pub read_article: bool,
}

/// Contacts whose webhooks are posted ahead of their delivery.
pub const CONTACTS_AHEAD: usize = 4096;

/// The share (per mille) of customers whose e-mail goes unanswered who call instead: 71%,
/// as a much-cited survey puts it.
pub const CALL_INSTEAD_PER_MILLE: u64 = 710;
/// How long a customer waits for an answer to an e-mail before calling.
pub const EMAIL_PATIENCE: TimeDelta = TimeDelta::hours(24);
/// The mean handle time: 3 to 42 minutes, evenly.
pub const HANDLE_MEAN_SECS: f64 = 22.5 * 60.0;
/// How long an agent takes to pick up and greet on a live channel, at most (seconds).
pub const GREET_WITHIN_SECS: u64 = 90;

/// Channels on which an agent greets as they pick a conversation up (the default SLA
/// policy's live channels).
pub fn is_live(ch: &Channel) -> bool {
    matches!(
        ch,
        Channel::WebChat | Channel::InApp | Channel::Voice | Channel::WhatsApp | Channel::Line
    )
}

/// Keys of follow-up webhooks (contacts are keyed by their index, below this).
const FOLLOW_UP_KEYS: u64 = 1 << 62;

pub struct Sim<S: Store> {
    pub desk: Desk<S>,
    pub tenant: TenantId,
    pub seed: u64,
    pub rng: Rng,
    pub queue: BinaryHeap<Reverse<(DateTime<Utc>, u64, Event)>>,
    pub seq: u64,
    /// Every contact of the month, in time order, and the next one to deliver.
    pub contacts: Vec<(DateTime<Utc>, u64)>,
    pub next_contact: usize,
    /// Plans of the contacts posted ahead (from `next_contact` on).
    pub plans: VecDeque<ContactPlan>,
    pub front: Front,
    pub customers: Vec<world::Customer>,
    pub ingested: u64,
    pub duplicates: u64,
    pub assigned_at: HashMap<ConversationId, DateTime<Utc>>,
    pub waiting_since: HashMap<ConversationId, DateTime<Utc>>,
    pub waits: Vec<i64>,
    pub breaches: BTreeMap<String, u64>,
    pub breached: std::collections::HashSet<ConversationId>,
    pub reopened: u64,
    pub warnings: u64,
    pub handovers: u64,
    pub phone_fallbacks: u64,
    pub by_hour: [u64; 24],
    pub conversation_intent: HashMap<ConversationId, usize>,
    /// When an agent last replied in each conversation, as the host's agent desk knows
    /// without asking the store.
    pub human_replied: HashMap<ConversationId, DateTime<Utc>>,
    /// Who posted each webhook not yet delivered, and on which channel.
    pub senders: HashMap<u64, (u64, Channel)>,
    /// Simulated customers whose identifiers the host has linked (their shop account).
    pub linked: Vec<bool>,
    /// E-mails still unanswered after the customer's patience ran out.
    pub unanswered_emails: u64,
    /// Calls after an unanswered e-mail that joined the e-mail's conversation.
    pub calls_joined: u64,
    pub truth: crate::truth::Truth,
}

impl<S: Store> Sim<S> {
    pub fn at(&mut self, when: DateTime<Utc>, e: Event) {
        self.seq += 1;
        self.queue.push(Reverse((when, self.seq, e)));
    }

    /// Posts the webhooks of the contacts up to `CONTACTS_AHEAD` ahead of the next one.
    pub fn post_contacts_ahead(&mut self) {
        while self.plans.len() < CONTACTS_AHEAD {
            let k = self.next_contact + self.plans.len();
            let Some(&(_, customer)) = self.contacts.get(k) else {
                break;
            };
            // The contact's own generator: its content does not depend on when it is drawn.
            let mut r = Rng(splitmix(self.seed ^ splitmix(k as u64)) | 1);
            let intent = pick_intent(&mut r);
            let c = &self.customers[customer as usize];
            let channel = c.channels[r.below(c.channels.len() as u64 - 1) as usize].clone();
            let read_article = r.chance(250);
            let body = world::text(
                world::INTENT_MIX[intent].0,
                c.lang,
                10_000 + r.below(90_000),
            );
            self.senders.insert(k as u64, (customer, channel.clone()));
            self.front.post(Hook {
                key: k as u64,
                tenant: self.tenant,
                customer,
                channel: channel.clone(),
                body,
            });
            self.plans.push_back(ContactPlan {
                intent,
                channel,
                read_article,
            });
        }
    }

    /// Posts the webhook of a message the customer will send later, and returns its key.
    fn post_later(&mut self, customer: u64, channel: Channel, body: String) -> u64 {
        self.seq += 1;
        let key = FOLLOW_UP_KEYS + self.seq;
        self.senders.insert(key, (customer, channel.clone()));
        self.front.post(Hook {
            key,
            tenant: self.tenant,
            customer,
            channel,
            body,
        });
        key
    }

    /// Delivers the webhook posted under `hook` (sometimes twice, as webhooks are) and
    /// reacts.
    fn deliver(&mut self, hook: u64, now: DateTime<Utc>) -> Option<(ConversationId, Vec<Effect>)> {
        let prepared = match self.front.take(hook) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("\nwebhook refused: {e}");
                return None;
            }
        };
        // The provider retries some webhooks.
        let redelivery = self.rng.chance(30).then(|| prepared.clone());
        let got = match self.desk.ingest_prepared(prepared, now) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("\ningest failed: {e}");
                return None;
            }
        };
        self.ingested += 1;
        self.by_hour[now.hour() as usize] += 1;
        if let Some((customer, channel)) = self.senders.remove(&hook) {
            self.truth
                .inbound(got.conversation, got.customer, &channel, now);
            self.link(customer, got.customer, now);
        }
        if got.effects.iter().any(|e| matches!(e, Effect::Send(_))) {
            self.truth.bot_replied(got.conversation);
        }
        if let Some(again) = redelivery {
            if self
                .desk
                .ingest_prepared(again, now + TimeDelta::seconds(2))
                .is_ok_and(|r| r.duplicate)
            {
                self.duplicates += 1;
            }
        }
        self.react(&got.effects, now);
        self.resume_reopened(got.conversation, &got.effects, now);
        Some((got.conversation, got.effects))
    }

    /// The host knows its customers' accounts: after a customer's first message it links
    /// their other identifiers (e-mail, phone, handles), so a call or a chat later is
    /// recognised as the same customer.
    fn link(&mut self, customer: u64, id: throughline::CustomerId, now: DateTime<Utc>) {
        if std::mem::replace(&mut self.linked[customer as usize], true) {
            return;
        }
        for ch in self.customers[customer as usize].channels.clone() {
            let ident = front::identifier(customer, &ch);
            // Already theirs (the channel they wrote on) or another's: left as it is.
            let _ = self.desk.link_identifier(self.tenant, id, ident, true, now);
        }
    }

    /// A message reopened a solved conversation that keeps its agent (no new
    /// assignment): that agent takes it up again.
    fn resume_reopened(&mut self, conv: ConversationId, effects: &[Effect], now: DateTime<Utc>) {
        let reopened = effects
            .iter()
            .any(|e| matches!(e, Effect::ConversationReopened { .. }));
        let assigned = effects
            .iter()
            .any(|e| matches!(e, Effect::Assigned { conversation, .. } if *conversation == conv));
        if !reopened || assigned {
            return;
        }
        if let Some(agent) = self
            .desk
            .conversation((self.tenant, conv))
            .ok()
            .and_then(|c| c.assignee)
        {
            self.take_up(conv, agent, now);
        }
    }

    /// The agent takes the conversation up: greets at once on a live channel, answers
    /// and solves after the handle time.
    fn take_up(&mut self, conversation: ConversationId, agent: AgentId, now: DateTime<Utc>) {
        if self.truth.channel(conversation).is_some_and(is_live) {
            let greet =
                now + TimeDelta::seconds(10 + self.rng.below(GREET_WITHIN_SECS - 10) as i64);
            self.at(
                greet,
                Event::AgentGreet {
                    conversation,
                    agent,
                },
            );
        }
        // Handle time: 3 to 42 minutes, 22.5 on average (`HANDLE_MEAN_SECS`).
        let mins = 3 + self.rng.below(40) as i64;
        self.at(
            now + TimeDelta::minutes(mins),
            Event::AgentWork {
                conversation,
                agent,
            },
        );
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
                    self.take_up(*conversation, *agent, now);
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

    /// The customer writes again in the same case at `when` (`insist`: after a bot
    /// answer that did not help), maybe on another channel.
    fn follow_up(&mut self, when: DateTime<Utc>, customer: u64, intent: usize, insist: bool) {
        let c = &self.customers[customer as usize];
        let lang = c.lang;
        let channel = c.channels[self.rng.below(c.channels.len() as u64 - 1) as usize].clone();
        let body = if intent == 2 && !insist {
            format!("Order {}", 10_000 + self.rng.below(90_000))
        } else if insist {
            "That did not help, I need to talk to someone please".to_string()
        } else {
            world::text(
                world::INTENT_MIX[intent].0,
                lang,
                10_000 + self.rng.below(90_000),
            )
        };
        let hook = self.post_later(customer, channel, body);
        self.at(when, Event::FollowUp { hook });
    }

    pub fn step(&mut self, now: DateTime<Utc>, e: Event, end: DateTime<Utc>) {
        match e {
            Event::Contact { customer, k } => {
                let plan = self
                    .plans
                    .pop_front()
                    .expect("a plan for each contact posted");
                let intent = plan.intent;
                if plan.read_article {
                    let ident = front::identifier(customer, &Channel::Email);
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
                if let Some((conv, effects)) = self.deliver(k as u64, now) {
                    self.conversation_intent.insert(conv, intent);
                    let bot_answered = effects.iter().any(|e| matches!(e, Effect::Send(_)));
                    if bot_answered && self.rng.chance(if intent == 2 { 900 } else { 200 }) {
                        // Automated flows need an answer; some self-service readers insist.
                        let later = now + TimeDelta::minutes(2 + self.rng.below(30) as i64);
                        self.follow_up(later, customer, intent, intent != 2);
                    }
                    if bot_answered {
                        self.at(
                            now + TimeDelta::hours(48),
                            Event::BotSolve { conversation: conv },
                        );
                    }
                    if plan.channel == Channel::Email && !bot_answered {
                        // The call the customer may make tomorrow.
                        let lang = self.customers[customer as usize].lang;
                        let body = world::text(
                            world::INTENT_MIX[intent].0,
                            lang,
                            10_000 + self.rng.below(90_000),
                        );
                        let hook = self.post_later(customer, Channel::Voice, body);
                        self.at(
                            now + EMAIL_PATIENCE,
                            Event::PhoneFallback {
                                conversation: conv,
                                hook,
                                sent: now,
                            },
                        );
                    } else if self.rng.chance(150) {
                        // Writes again later, often on another channel.
                        let later = now + TimeDelta::hours(1 + self.rng.below(30) as i64);
                        self.follow_up(later, customer, intent, false);
                    }
                }
            }
            Event::FollowUp { hook } => {
                self.deliver(hook, now);
            }
            Event::PhoneFallback {
                conversation,
                hook,
                sent,
            } => {
                // Answered: an agent wrote in the conversation since the e-mail arrived
                // (earlier replies in a reopened conversation do not answer it).
                let answered = self
                    .human_replied
                    .get(&conversation)
                    .is_some_and(|at| *at >= sent);
                if !answered {
                    self.unanswered_emails += 1;
                }
                if !answered && self.rng.chance(CALL_INSTEAD_PER_MILLE) {
                    self.phone_fallbacks += 1;
                    if self
                        .deliver(hook, now)
                        .is_some_and(|(c, _)| c == conversation)
                    {
                        self.calls_joined += 1;
                    }
                } else {
                    self.senders.remove(&hook);
                    self.front.drop_hook(hook);
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
                            self.human_replied.insert(conversation.1, now);
                            self.truth.replied(conversation.1, now);
                            self.truth.solved(conversation.1, now);
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
                        self.truth.solved(conversation, now);
                        self.react(&effects, now);
                    }
                }
            }
            Event::AgentGreet {
                conversation,
                agent,
            } => self.greet(conversation, agent, now),
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

impl<S: Store> Sim<S> {
    /// The agent's greeting, if the conversation is still theirs and active.
    fn greet(&mut self, conversation: ConversationId, agent: AgentId, now: DateTime<Utc>) {
        let key = (self.tenant, conversation);
        if !self
            .desk
            .conversation(key)
            .is_ok_and(|c| c.assignee == Some(agent) && c.status.is_active())
        {
            return;
        }
        if let Ok(effects) = self.desk.reply_with(
            key,
            ReplyOptions::new(
                agent,
                "Hi, thanks for getting in touch, I'm looking into it.",
            ),
            now,
        ) {
            self.human_replied.insert(conversation, now);
            self.truth.replied(conversation, now);
            self.react(&effects, now);
        }
    }
}

pub fn pick_intent(r: &mut Rng) -> usize {
    let mut x = r.below(1000);
    for (i, (_, w)) in world::INTENT_MIX.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    0
}
