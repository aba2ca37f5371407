//! Support metrics: CSAT, NPS, first and next reply times, resolution time, reopen rate,
//! first contact resolution (across channels), channel mix and switches, bot resolution
//! and hand-over, and per-agent performance; sliceable by period, channel, language,
//! intent and team.
//!
//! Everything is computed from [`ConversationFacts`]: one row per conversation. The Desk
//! keeps the rows up to date as events happen (constant work per event), and can rebuild
//! them from the store for any period ([`ConversationFacts::from_messages`]); both give the
//! same [`Report`]. Definitions, with worked examples, are in `docs/metrics.md`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::conversation::{Conversation, Status};
use crate::error::{Error, Result};
use crate::id::{AgentId, ConversationId, CustomerId};
use crate::message::{Author, Direction, Message};

/// A customer-satisfaction answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scale", content = "score")]
#[non_exhaustive]
pub enum Csat {
    /// 1 (very dissatisfied) to 5 (very satisfied); 4 and 5 count as satisfied.
    FivePoint(u8),
    /// Good or bad.
    GoodBad(bool),
}

impl Csat {
    /// Checks the score's range.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a five-point score outside 1..=5.
    pub fn validate(self) -> Result<Self> {
        match self {
            Csat::FivePoint(s) if !(1..=5).contains(&s) => Err(Error::invalid(
                "csat",
                format!("score {s} is outside 1 to 5"),
            )),
            ok => Ok(ok),
        }
    }

    /// Whether the answer counts as satisfied (4 or 5, or good).
    pub fn satisfied(self) -> bool {
        match self {
            Csat::FivePoint(s) => s >= 4,
            Csat::GoodBad(g) => g,
        }
    }
}

/// One conversation's facts, from which every metric is computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationFacts {
    /// The conversation.
    pub conversation: ConversationId,
    /// Its customer.
    pub customer: CustomerId,
    /// When it opened.
    pub created_at: DateTime<Utc>,
    /// The channel it opened on.
    pub first_channel: Channel,
    /// Channels used by inbound messages, in order of first use.
    pub channels: Vec<Channel>,
    /// Channel switches by the customer within it.
    pub channel_switches: u32,
    /// The channel of the latest customer message.
    pub last_channel: Option<Channel>,
    /// Its language, when known.
    pub language: Option<String>,
    /// Its intent, when triage named one.
    pub intent: Option<String>,
    /// The team that handled it, when known.
    pub team: Option<String>,
    /// The last human agent who answered.
    pub agent: Option<AgentId>,
    /// Customer messages.
    pub inbound: u32,
    /// Public replies by human agents.
    pub human_replies: u32,
    /// Replies by bots.
    pub bot_replies: u32,
    /// First public human reply.
    pub first_reply_at: Option<DateTime<Utc>>,
    /// The oldest customer message not yet answered by a human (next reply clock).
    pub awaiting_since: Option<DateTime<Utc>>,
    /// Sum of next-reply waits in seconds (each from the oldest unanswered customer
    /// message to the human reply), excluding the first reply.
    pub next_reply_secs: i64,
    /// How many next replies that sum counts.
    pub next_replies: u32,
    /// The customer wrote again after the first human reply and before it was solved.
    pub wrote_again: bool,
    /// When it was (last) solved, if it is solved or closed.
    pub solved_at: Option<DateTime<Utc>>,
    /// How often it was reopened.
    pub reopen_count: u32,
    /// Current status.
    pub status: Status,
    /// The satisfaction answer, if any.
    pub csat: Option<Csat>,
}

/// The value of the conversation's first tag with this prefix (`intent:refund` → `refund`).
fn tag(conv: &Conversation, prefix: &str) -> Option<String> {
    conv.tags
        .iter()
        .find_map(|t| t.strip_prefix(prefix).map(str::to_string))
}

/// What reports slice a conversation by besides its opening: its language, and the
/// intent and team of its tags, as the conversation holds them now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// The conversation's language.
    pub language: Option<String>,
    /// Its `intent:<name>` tag.
    pub intent: Option<String>,
    /// Its `team:<name>` tag.
    pub team: Option<String>,
}

impl Labels {
    /// A conversation's labels.
    pub fn of(conv: &Conversation) -> Labels {
        Labels {
            language: conv.language.clone(),
            intent: tag(conv, "intent:"),
            team: tag(conv, "team:"),
        }
    }
}

impl ConversationFacts {
    /// Takes the conversation's current labels (a later message can settle its language,
    /// triage can name its intent). Constant work.
    pub fn relabel(&mut self, labels: Labels) {
        self.language = labels.language;
        self.intent = labels.intent;
        self.team = labels.team;
    }

    /// Facts of a new conversation. The intent and team come from the conversation's
    /// `intent:<name>` and `team:<name>` tags (triage sets the intent tag).
    pub fn new(conv: &Conversation) -> Self {
        let Labels {
            language,
            intent,
            team,
        } = Labels::of(conv);
        ConversationFacts {
            conversation: conv.id,
            customer: conv.customer,
            created_at: conv.created_at,
            first_channel: conv.channels.first().cloned().unwrap_or(Channel::WebChat),
            channels: Vec::new(),
            channel_switches: 0,
            last_channel: None,
            language,
            intent,
            team,
            agent: None,
            inbound: 0,
            human_replies: 0,
            bot_replies: 0,
            first_reply_at: None,
            awaiting_since: None,
            next_reply_secs: 0,
            next_replies: 0,
            wrote_again: false,
            solved_at: None,
            reopen_count: 0,
            status: conv.status,
            csat: None,
        }
    }

    /// Applies one stored message (in timeline order). Constant work.
    pub fn on_message(&mut self, m: &Message) {
        match m.direction {
            Direction::Inbound => {
                if self
                    .last_channel
                    .as_ref()
                    .is_some_and(|last| *last != m.channel)
                {
                    self.channel_switches += 1;
                }
                self.last_channel = Some(m.channel.clone());
                if !self.channels.contains(&m.channel) {
                    self.channels.push(m.channel.clone());
                }
                self.inbound += 1;
                if self.first_reply_at.is_some() && self.solved_at.is_none() {
                    self.wrote_again = true;
                }
                if self.awaiting_since.is_none() {
                    self.awaiting_since = Some(m.sent_at);
                }
            }
            Direction::Outbound => match m.author {
                Author::Agent(agent) => {
                    self.human_replies += 1;
                    self.agent = Some(agent);
                    match self.first_reply_at {
                        None => self.first_reply_at = Some(m.sent_at),
                        Some(_) => {
                            if let Some(since) = self.awaiting_since {
                                self.next_reply_secs += (m.sent_at - since).num_seconds().max(0);
                                self.next_replies += 1;
                            }
                        }
                    }
                    self.awaiting_since = None;
                }
                Author::Bot(_) => self.bot_replies += 1,
                _ => {}
            },
            Direction::Note | Direction::Event => {}
        }
    }

    /// Applies a status change. Constant work.
    pub fn on_status(&mut self, from: Status, to: Status, at: DateTime<Utc>) {
        if from == Status::Solved && to.is_active() {
            self.reopen_count += 1;
            self.solved_at = None;
        }
        if to == Status::Solved {
            self.solved_at = Some(at);
        }
        self.status = to;
    }

    /// Rebuilds the facts of a stored conversation from its messages (any order).
    pub fn from_messages(conv: &Conversation, messages: &[Message], csat: Option<Csat>) -> Self {
        let mut f = ConversationFacts::new(conv);
        let mut sorted: Vec<&Message> = messages.iter().collect();
        sorted.sort_by_key(|m| m.order_key());
        for m in sorted {
            f.on_message(m);
        }
        f.status = conv.status;
        f.reopen_count = conv.reopen_count;
        f.solved_at = match conv.status {
            Status::Solved | Status::Closed => conv.solved_at,
            _ => None,
        };
        f.language = conv.language.clone();
        f.csat = csat;
        f
    }

    /// Human-reply and bot-reply facts say whether a bot resolved it alone.
    pub fn bot_resolved(&self) -> bool {
        self.bot_replies > 0 && self.human_replies == 0 && self.solved_at.is_some()
    }

    /// A bot answered first and a human took over.
    pub fn handed_over(&self) -> bool {
        self.bot_replies > 0 && self.human_replies > 0
    }
}

/// Which conversations a report covers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Opened at or after.
    pub from: Option<DateTime<Utc>>,
    /// Opened before.
    pub to: Option<DateTime<Utc>>,
    /// Opened on this channel.
    pub channel: Option<Channel>,
    /// In this language.
    pub language: Option<String>,
    /// With this intent.
    pub intent: Option<String>,
    /// Handled by this team.
    pub team: Option<String>,
    /// The name of a business calendar of the tenant's SLA policies: the report adds
    /// first-reply and resolution times in its business time
    /// ([`Report::first_reply_business`], [`Report::resolution_business`]).
    pub business_calendar: Option<String>,
}

impl Filter {
    /// Adds business-hours figures measured on the tenant's calendar `name`.
    pub fn business_hours(mut self, name: impl Into<String>) -> Self {
        self.business_calendar = Some(name.into());
        self
    }

    /// Conversations opened in `[from, to)`.
    pub fn period(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Filter {
            from: Some(from),
            to: Some(to),
            ..Filter::default()
        }
    }

    /// Only conversations opened on `channel`.
    pub fn channel(mut self, channel: Channel) -> Self {
        self.channel = Some(channel);
        self
    }

    /// Only conversations in `language`.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// Only conversations whose intent (their `intent:<name>` tag) is `intent`.
    pub fn intent(mut self, intent: impl Into<String>) -> Self {
        self.intent = Some(intent.into());
        self
    }

    /// Only conversations of `team` (their `team:<name>` tag, see `Desk::tag`).
    pub fn team(mut self, team: impl Into<String>) -> Self {
        self.team = Some(team.into());
        self
    }

    /// Whether a conversation is covered.
    pub fn matches(&self, f: &ConversationFacts) -> bool {
        self.from.is_none_or(|t| f.created_at >= t)
            && self.to.is_none_or(|t| f.created_at < t)
            && self.channel.as_ref().is_none_or(|c| f.first_channel == *c)
            && self
                .language
                .as_ref()
                .is_none_or(|l| f.language.as_ref() == Some(l))
            && self
                .intent
                .as_ref()
                .is_none_or(|i| f.intent.as_ref() == Some(i))
            && self
                .team
                .as_ref()
                .is_none_or(|t| f.team.as_ref() == Some(t))
    }
}

/// Summary of a set of durations, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Durations {
    /// How many.
    pub count: usize,
    /// Median (the lower of the two middle values for an even count).
    pub median_secs: Option<i64>,
    /// 90th percentile (nearest rank).
    pub p90_secs: Option<i64>,
    /// Mean.
    pub mean_secs: Option<f64>,
}

impl Durations {
    /// Summarises `values` (seconds).
    pub fn of(mut values: Vec<i64>) -> Self {
        if values.is_empty() {
            return Durations::default();
        }
        values.sort_unstable();
        let n = values.len();
        let rank = |p: f64| values[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        Durations {
            count: n,
            median_secs: Some(values[(n - 1) / 2]),
            p90_secs: Some(rank(0.9)),
            mean_secs: Some(values.iter().sum::<i64>() as f64 / n as f64),
        }
    }
}

/// Per-agent figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentStats {
    /// The agent (the last human who answered the conversation).
    pub agent: AgentId,
    /// Conversations handled.
    pub handled: usize,
    /// Of those, solved.
    pub solved: usize,
    /// Time from opening to solving, for the solved ones.
    pub resolution: Durations,
    /// CSAT answers and the share satisfied.
    pub csat_answers: usize,
    /// Share of satisfied answers (0..=1), when there are answers.
    pub csat: Option<f64>,
}

/// The metrics of a set of conversations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// Conversations covered.
    pub conversations: usize,
    /// Customer messages in them.
    pub inbound_messages: u64,
    /// Conversations per opening channel.
    pub channel_mix: BTreeMap<String, usize>,
    /// Conversations in which the customer switched channel.
    pub with_channel_switch: usize,
    /// Total channel switches.
    pub channel_switches: u64,
    /// First human reply time.
    pub first_reply: Durations,
    /// Mean next-reply time over all next replies, in seconds.
    pub next_reply_mean_secs: Option<f64>,
    /// Opening to (last) solve, for solved or closed conversations.
    pub resolution: Durations,
    /// Time to first reply in the business time of the calendar named by
    /// [`Filter::business_calendar`] (`None` without one): what an SLA on business
    /// hours sees, beside the calendar time of `first_reply`.
    #[serde(default)]
    pub first_reply_business: Option<Durations>,
    /// Resolution time in that calendar's business time (`None` without one).
    #[serde(default)]
    pub resolution_business: Option<Durations>,
    /// Solved or closed conversations.
    pub solved: usize,
    /// Share of solved conversations that were reopened at least once.
    pub reopen_rate: Option<f64>,
    /// Solved conversations counted as first-contact resolutions.
    pub fcr: usize,
    /// `fcr / solved`.
    pub fcr_rate: Option<f64>,
    /// CSAT answers.
    pub csat_answers: usize,
    /// Share of satisfied answers.
    pub csat: Option<f64>,
    /// Conversations a bot answered and solved with no human reply.
    pub bot_resolved: usize,
    /// Conversations a bot answered and a human took over.
    pub handed_over: usize,
    /// Per agent, by conversations handled (most first).
    pub agents: Vec<AgentStats>,
}

/// Builds a [`Report`] from conversation facts.
///
/// FCR: a solved conversation counts when the customer did not write again after the first
/// human reply before it was solved, it was never reopened, and the same customer opened
/// no other conversation, on any channel, within `fcr_window` after it was solved.
pub fn report<'a>(
    facts: impl IntoIterator<Item = &'a ConversationFacts> + Clone,
    filter: &Filter,
    fcr_window: TimeDelta,
) -> Report {
    report_on(facts, filter, fcr_window, None)
}

/// [`report`] with business-hours figures measured on `calendar` (the one
/// [`Filter::business_calendar`] names).
pub fn report_on<'a>(
    facts: impl IntoIterator<Item = &'a ConversationFacts> + Clone,
    filter: &Filter,
    fcr_window: TimeDelta,
    calendar: Option<&crate::sla::BusinessCalendar>,
) -> Report {
    // Every conversation start per customer, for repeat-contact checks (any period).
    let starts = starts_by_customer(facts.clone());
    let mut tally = Tally::new();
    tally.calendar = calendar;
    for f in facts.into_iter().filter(|f| filter.matches(f)) {
        tally.add(f, |f, solved| repeated(&starts, f, solved, fcr_window));
    }
    tally.finish()
}

/// Conversation starts per customer.
type Starts = HashMap<CustomerId, Vec<(DateTime<Utc>, ConversationId)>>;

/// Every conversation start (opening time and id) per customer.
fn starts_by_customer<'a>(facts: impl IntoIterator<Item = &'a ConversationFacts>) -> Starts {
    let mut starts: Starts = HashMap::new();
    for f in facts {
        starts
            .entry(f.customer)
            .or_default()
            .push((f.created_at, f.conversation));
    }
    starts
}

/// Whether the customer opened another conversation within `window` after `f` was
/// solved at `solved` (a repeat contact: not a first-contact resolution).
fn repeated(
    starts: &Starts,
    f: &ConversationFacts,
    solved: DateTime<Utc>,
    window: TimeDelta,
) -> bool {
    starts.get(&f.customer).is_some_and(|v| {
        v.iter()
            .any(|(at, id)| *id != f.conversation && *at >= solved && *at - solved <= window)
    })
}

/// One agent's share of a report, while it is counted.
#[derive(Default)]
struct AgentTally {
    handled: usize,
    solved: usize,
    resolution: Vec<i64>,
    csat_answers: usize,
    satisfied: usize,
}

/// A report while its conversations are counted: the counts go into the report, the
/// samples wait here for [`Tally::finish`].
struct Tally<'c> {
    r: Report,
    calendar: Option<&'c crate::sla::BusinessCalendar>,
    first_business: Vec<i64>,
    resolution_business: Vec<i64>,
    first: Vec<i64>,
    resolution: Vec<i64>,
    next_sum: i64,
    next_n: u64,
    reopened: usize,
    satisfied: usize,
    agents: BTreeMap<AgentId, AgentTally>,
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl<'c> Tally<'c> {
    fn new() -> Tally<'c> {
        Tally {
            calendar: None,
            first_business: Vec::new(),
            resolution_business: Vec::new(),
            r: Report {
                conversations: 0,
                inbound_messages: 0,
                channel_mix: BTreeMap::new(),
                with_channel_switch: 0,
                channel_switches: 0,
                first_reply: Durations::default(),
                next_reply_mean_secs: None,
                resolution: Durations::default(),
                first_reply_business: None,
                resolution_business: None,
                solved: 0,
                reopen_rate: None,
                fcr: 0,
                fcr_rate: None,
                csat_answers: 0,
                csat: None,
                bot_resolved: 0,
                handed_over: 0,
                agents: Vec::new(),
            },
            first: Vec::new(),
            resolution: Vec::new(),
            next_sum: 0,
            next_n: 0,
            reopened: 0,
            satisfied: 0,
            agents: BTreeMap::new(),
        }
    }

    /// Counts one conversation; `repeated(f, solved)` says whether the customer came back
    /// after it was solved.
    fn add(
        &mut self,
        f: &ConversationFacts,
        repeated: impl Fn(&ConversationFacts, DateTime<Utc>) -> bool,
    ) {
        let r = &mut self.r;
        r.conversations += 1;
        r.inbound_messages += u64::from(f.inbound);
        *r.channel_mix
            .entry(f.first_channel.to_string())
            .or_default() += 1;
        if f.channel_switches > 0 {
            r.with_channel_switch += 1;
        }
        r.channel_switches += u64::from(f.channel_switches);
        if let Some(at) = f.first_reply_at {
            self.first.push((at - f.created_at).num_seconds().max(0));
            if let Some(cal) = self.calendar {
                self.first_business
                    .push(cal.elapsed(f.created_at, at).num_seconds().max(0));
            }
        }
        self.next_sum += f.next_reply_secs;
        self.next_n += u64::from(f.next_replies);
        let mut agent = f.agent.map(|a| self.agents.entry(a).or_default());
        if let Some(e) = agent.as_mut() {
            e.handled += 1;
        }
        if let Some(solved) = f.solved_at {
            r.solved += 1;
            let secs = (solved - f.created_at).num_seconds().max(0);
            self.resolution.push(secs);
            if let Some(cal) = self.calendar {
                let business = cal.elapsed(f.created_at, solved).num_seconds().max(0);
                self.resolution_business.push(business);
            }
            if let Some(e) = agent.as_mut() {
                e.solved += 1;
                e.resolution.push(secs);
            }
            if f.reopen_count > 0 {
                self.reopened += 1;
            }
            if !f.wrote_again
                && f.reopen_count == 0
                && !repeated(f, solved)
                && f.human_replies + f.bot_replies > 0
            {
                r.fcr += 1;
            }
        }
        if let Some(c) = f.csat {
            r.csat_answers += 1;
            if c.satisfied() {
                self.satisfied += 1;
            }
            if let Some(e) = agent.as_mut() {
                e.csat_answers += 1;
                if c.satisfied() {
                    e.satisfied += 1;
                }
            }
        }
        if f.bot_resolved() {
            r.bot_resolved += 1;
        }
        if f.handed_over() {
            r.handed_over += 1;
        }
    }

    /// The report: durations, rates and the agents, most conversations handled first.
    fn finish(self) -> Report {
        let mut r = self.r;
        r.first_reply = Durations::of(self.first);
        r.resolution = Durations::of(self.resolution);
        if self.calendar.is_some() {
            r.first_reply_business = Some(Durations::of(self.first_business));
            r.resolution_business = Some(Durations::of(self.resolution_business));
        }
        r.next_reply_mean_secs =
            (self.next_n > 0).then(|| self.next_sum as f64 / self.next_n as f64);
        r.reopen_rate = ratio(self.reopened, r.solved);
        r.fcr_rate = ratio(r.fcr, r.solved);
        r.csat = ratio(self.satisfied, r.csat_answers);
        r.agents = self
            .agents
            .into_iter()
            .map(|(agent, a)| AgentStats {
                agent,
                handled: a.handled,
                solved: a.solved,
                resolution: Durations::of(a.resolution),
                csat_answers: a.csat_answers,
                csat: ratio(a.satisfied, a.csat_answers),
            })
            .collect();
        r.agents
            .sort_by(|a, b| b.handled.cmp(&a.handled).then(a.agent.cmp(&b.agent)));
        r
    }
}

/// The longest comment a CSAT or NPS answer keeps, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// A customer's comment with an answer: trimmed, `None` when empty.
///
/// # Errors
///
/// [`Error::Invalid`] (field `"comment"`) for more than [`MAX_COMMENT_CHARS`] characters
/// or a NUL character.
pub fn check_comment(comment: Option<&str>) -> Result<Option<String>> {
    let Some(c) = comment.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let n = c.chars().count();
    if n > MAX_COMMENT_CHARS {
        return Err(Error::invalid(
            "comment",
            format!("{n} characters, the maximum is {MAX_COMMENT_CHARS}"),
        ));
    }
    if c.contains('\0') {
        return Err(Error::invalid("comment", "contains a NUL character"));
    }
    Ok(Some(c.to_string()))
}

/// One satisfaction answer with its comment ([`crate::Desk::feedback`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Feedback {
    /// The answer.
    pub answer: FeedbackAnswer,
    /// The customer who gave it.
    pub customer: CustomerId,
    /// The conversation it rates (CSAT).
    pub conversation: Option<ConversationId>,
    /// The customer's words, if any (erased with the customer; the score stays).
    pub comment: Option<String>,
    /// When it was given.
    pub at: DateTime<Utc>,
}

/// What a [`Feedback`] answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FeedbackAnswer {
    /// A CSAT answer about one conversation.
    Csat(Csat),
    /// A Net Promoter Score, 0 to 10.
    Nps(u8),
}

/// Net Promoter Score answers: 9-10 promoters, 7-8 passives, 0-6 detractors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Nps {
    /// Answers.
    pub answers: usize,
    /// 9 or 10.
    pub promoters: usize,
    /// 7 or 8.
    pub passives: usize,
    /// 0 to 6.
    pub detractors: usize,
    /// `100 * (promoters - detractors) / answers`, when there are answers.
    pub score: Option<f64>,
}

impl Nps {
    /// Summarises scores (each 0..=10).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a score above 10.
    pub fn of(scores: impl IntoIterator<Item = u8>) -> Result<Nps> {
        let mut n = Nps::default();
        for s in scores {
            match s {
                9 | 10 => n.promoters += 1,
                7 | 8 => n.passives += 1,
                0..=6 => n.detractors += 1,
                other => {
                    return Err(Error::invalid(
                        "nps",
                        format!("score {other} is outside 0 to 10"),
                    ))
                }
            }
            n.answers += 1;
        }
        if n.answers > 0 {
            n.score = Some(100.0 * (n.promoters as f64 - n.detractors as f64) / n.answers as f64);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_nearest_rank() {
        let d = Durations::of(vec![60, 10, 30, 20, 50, 40, 70, 80, 90, 100]);
        assert_eq!(
            (d.count, d.median_secs, d.p90_secs),
            (10, Some(50), Some(90))
        );
        assert_eq!(d.mean_secs, Some(55.0));
        assert_eq!(Durations::of(vec![]), Durations::default());
    }

    #[test]
    fn nps_worked_example() {
        // 5 promoters, 3 passives, 2 detractors: (5 - 2) / 10 = 30.
        let n = Nps::of([10, 9, 9, 10, 9, 8, 7, 7, 3, 6]).unwrap();
        assert_eq!((n.promoters, n.passives, n.detractors), (5, 3, 2));
        assert_eq!(n.score, Some(30.0));
        assert!(Nps::of([11]).is_err());
    }

    #[test]
    fn csat_scales() {
        assert!(Csat::FivePoint(4).satisfied() && !Csat::FivePoint(3).satisfied());
        assert!(Csat::GoodBad(true).satisfied());
        assert!(Csat::FivePoint(0).validate().is_err() && Csat::FivePoint(6).validate().is_err());
    }

    #[test]
    fn a_repeat_contact_is_another_start_within_the_window_after_solving() {
        use crate::conversation::Conversation;
        use crate::id::TenantId;
        let t0: DateTime<Utc> = "2026-03-02T09:00:00Z".parse().unwrap();
        let id = |n: u128| uuid::Uuid::from_u128(n);
        let customer = CustomerId::from_uuid(id(1));
        let next = std::cell::Cell::new(10);
        let conv = |at: DateTime<Utc>| {
            let mut c = Conversation::new(
                ConversationId::from_uuid(id(next.replace(next.get() + 1))),
                TenantId::from_uuid(id(2)),
                customer,
                Channel::Email,
                at,
            );
            c.created_at = at;
            ConversationFacts::new(&c)
        };
        let first = conv(t0);
        let solved = t0 + TimeDelta::hours(1);
        let window = TimeDelta::days(1);
        let alone = starts_by_customer([&first]);
        assert!(!repeated(&alone, &first, solved, window));
        let again = conv(solved + TimeDelta::hours(2));
        let late = conv(solved + TimeDelta::days(2));
        let before = conv(t0 - TimeDelta::hours(1));
        assert!(repeated(
            &starts_by_customer([&first, &again]),
            &first,
            solved,
            window
        ));
        assert!(!repeated(
            &starts_by_customer([&first, &late]),
            &first,
            solved,
            window
        ));
        assert!(!repeated(
            &starts_by_customer([&first, &before]),
            &first,
            solved,
            window
        ));
    }
}
