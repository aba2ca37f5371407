//! The triage decisions of one inbound message, as values: what the first message of a
//! conversation implies (intent, disposition, priority, tags, the bot's answer or a
//! human), and how a later message advances the bot's flow (the next question, or a
//! hand-over). The Desk reads the stored outcome, calls these, and writes what they
//! return.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::catalogue::Disposition;
use super::outcome::{priority, Flow, PriorityInputs, TriageOutcome};
use super::TriageConfig;
use crate::lang::Language;

/// What triage sees of the customer's message and its sender.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MessageFacts<'a> {
    /// The text.
    pub body: &'a str,
    /// Its language, if known.
    pub language: Option<Language>,
    /// Whether it came on a live channel.
    pub live_channel: bool,
    /// Whether the customer is a VIP.
    pub vip: bool,
}

/// A message the bot sends once the operation has committed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BotMessage {
    /// The text.
    pub text: String,
    /// Whether the conversation becomes pending with it (it waits on the customer).
    pub then_pending: bool,
}

/// What the first message of a conversation implies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FirstTriage {
    /// The outcome to store.
    pub outcome: TriageOutcome,
    /// Tags the conversation takes (`intent:…`, `irritant:…`).
    pub tags: Vec<String>,
    /// The bot's answer (articles, or the form's first question), if the bot handles it.
    pub bot: Option<BotMessage>,
}

impl FirstTriage {
    /// Whether a human is needed: route the conversation.
    pub fn route(&self) -> bool {
        self.outcome.needs_human
    }
}

/// What a later message of a triaged conversation implies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Advance {
    /// The outcome stays as stored; `route` asks for routing with these skills (a human
    /// handles it and routing is on).
    Unchanged {
        /// Route the conversation, with the skills a human needs.
        route: Option<Vec<(String, u8)>>,
    },
    /// The outcome changes: the bot asks `ask`, or the conversation is handed over to a
    /// human for `hand_over` (and routed).
    Changed {
        /// The new outcome to store.
        outcome: TriageOutcome,
        /// The bot's next question.
        ask: Option<BotMessage>,
        /// Why it was handed over.
        hand_over: Option<String>,
    },
}

/// The `"vip"` attribute's truth: `true`, `"true"`, `"yes"`, `"1"` or a non-zero number.
pub(crate) fn is_vip(v: Option<&serde_json::Value>) -> bool {
    match v {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => {
            matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "1")
        }
        Some(serde_json::Value::Number(n)) => n.as_f64().is_some_and(|x| x != 0.0),
        _ => false,
    }
}

/// Triage of a conversation's first message: classify it, take the intent when the
/// classifier is sure enough, set the priority, and let the bot answer when the intent's
/// disposition and content allow (articles for self-service and eliminate, the form for
/// automate); otherwise a human is needed.
pub(crate) fn first(cfg: &TriageConfig, msg: MessageFacts<'_>, now: DateTime<Utc>) -> FirstTriage {
    let class = cfg
        .classifier
        .classify(msg.body, msg.language)
        .filter(|c| c.confidence >= cfg.min_confidence)
        .and_then(|c| cfg.catalogue.get(&c.intent).map(|i| (i, c.confidence)));
    let disposition = class.map(|(i, _)| i.disposition());
    let (prio, factors) = priority(PriorityInputs {
        disposition,
        live_channel: msg.live_channel,
        vip: msg.vip,
        sla_pressure: None,
    });
    let mut outcome = TriageOutcome {
        intent: class.map(|(i, _)| i.name.clone()),
        disposition,
        confidence: class.map_or(0.0, |c| c.1),
        priority: prio,
        factors,
        skills: class.map(|(i, _)| i.skills.clone()).unwrap_or_default(),
        needs_human: true,
        flow: Flow::Human,
        collected: BTreeMap::new(),
        cost: class.map_or(0.0, |(i, _)| i.cost_per_contact),
        at: now,
    };
    let mut tags = Vec::new();
    let mut bot = None;
    if let Some((intent, _)) = class {
        match intent.disposition() {
            Disposition::SelfService | Disposition::Eliminate if !intent.articles.is_empty() => {
                outcome.needs_human = false;
                outcome.flow = Flow::ArticlesSent { at: now };
                let language = msg.language.map(|l| l.code());
                bot = Some(BotMessage {
                    text: cfg.catalogue.deflection_message(&intent.articles, language),
                    then_pending: true,
                });
            }
            Disposition::Automate if !intent.form.is_empty() => {
                outcome.needs_human = false;
                outcome.flow = Flow::Collecting {
                    field: 0,
                    attempts: 0,
                };
                bot = Some(BotMessage {
                    text: intent.form[0].question.clone(),
                    then_pending: false,
                });
            }
            _ => {}
        }
        tags.push(format!("intent:{}", intent.name));
        if intent.disposition() == Disposition::Eliminate {
            tags.push(format!("irritant:{}", intent.name));
        }
    }
    FirstTriage { outcome, tags, bot }
}

/// A later customer message of a triaged conversation: after articles, the customer
/// writing again hands over; while a form is filled, the answer is taken (next question,
/// or a hand-over when complete), or asked again until `max_attempts` failed answers hand
/// over. A conversation a human handles is routed again when `routing` is on.
pub(crate) fn advance(
    cfg: &TriageConfig,
    mut outcome: TriageOutcome,
    body: &str,
    routing: bool,
    now: DateTime<Utc>,
) -> Advance {
    let (ask, hand_over) = match outcome.flow.clone() {
        Flow::ArticlesSent { .. } => (
            None,
            Some("the customer wrote again after the articles".to_string()),
        ),
        Flow::Collecting { field, attempts } => collect(cfg, &mut outcome, body, field, attempts),
        Flow::Human | Flow::HandedOver { .. } => {
            return Advance::Unchanged {
                route: (outcome.needs_human && routing).then_some(outcome.skills),
            };
        }
    };
    if let Some(reason) = &hand_over {
        outcome.hand_over(reason.clone(), now);
    }
    Advance::Changed {
        outcome,
        ask,
        hand_over,
    }
}

/// One answer to the form's `field`: the bot's next question, or the reason to hand over.
fn collect(
    cfg: &TriageConfig,
    outcome: &mut TriageOutcome,
    body: &str,
    field: usize,
    attempts: u32,
) -> (Option<BotMessage>, Option<String>) {
    let ask = |text: String| {
        Some(BotMessage {
            text,
            then_pending: false,
        })
    };
    let intent = outcome.intent.as_deref().and_then(|n| cfg.catalogue.get(n));
    let Some((intent, f)) = intent.and_then(|i| i.form.get(field).map(|f| (i, f))) else {
        return (None, Some("the form changed".into()));
    };
    match f.accept.extract(body) {
        Some(v) => {
            outcome.collected.insert(f.name.clone(), v);
            match intent.form.get(field + 1) {
                Some(next) => {
                    outcome.flow = Flow::Collecting {
                        field: field + 1,
                        attempts: 0,
                    };
                    (ask(next.question.clone()), None)
                }
                None => (None, Some("the form is complete".into())),
            }
        }
        None if attempts + 1 >= cfg.max_attempts => (
            None,
            Some(format!(
                "{} answers to {:?} not understood",
                attempts + 1,
                f.name
            )),
        ),
        None => {
            outcome.flow = Flow::Collecting {
                field,
                attempts: attempts + 1,
            };
            (
                ask(format!("Sorry, I did not get that. {}", f.question)),
                None,
            )
        }
    }
}

impl TriageOutcome {
    /// Hands the conversation to a human at `now` for `reason`.
    pub(crate) fn hand_over(&mut self, reason: String, now: DateTime<Utc>) {
        self.needs_human = true;
        self.flow = Flow::HandedOver { at: now, reason };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Priority;
    use crate::triage::{Accept, Intent, IntentCatalogue, Value};

    fn now() -> DateTime<Utc> {
        "2026-03-02T09:00:00Z".parse().expect("valid")
    }

    fn config() -> TriageConfig {
        let catalogue = IntentCatalogue::new()
            .with(
                Intent::new("where_is_my_order", Value::High, Value::Low)
                    .article("tracking")
                    .phrases("en", &["where is my order"]),
            )
            .and_then(|c| {
                c.with(
                    Intent::new("return", Value::Low, Value::High)
                        .field(
                            "order",
                            "Your order number?",
                            Accept::Digits { min: 4, max: 8 },
                        )
                        .field("reason", "Why?", Accept::Text)
                        .phrases("en", &["return a product"]),
                )
            })
            .and_then(|c| {
                c.with(
                    Intent::new("complaint", Value::High, Value::High)
                        .skill("care", 2)
                        .phrases("en", &["complaint"]),
                )
            })
            .expect("valid catalogue");
        TriageConfig::new(catalogue)
    }

    fn msg(body: &str) -> MessageFacts<'_> {
        MessageFacts {
            body,
            language: Language::from_code("en"),
            live_channel: false,
            vip: false,
        }
    }

    #[test]
    fn vip_attribute_values() {
        use serde_json::json;
        for yes in [json!(true), json!("Yes"), json!("1"), json!(2)] {
            assert!(is_vip(Some(&yes)), "{yes}");
        }
        for no in [json!(false), json!("no"), json!(0), json!(null)] {
            assert!(!is_vip(Some(&no)), "{no}");
        }
        assert!(!is_vip(None));
    }

    #[test]
    fn self_service_sends_articles_and_waits_on_the_customer() {
        let t = first(&config(), msg("where is my order"), now());
        assert_eq!(t.outcome.intent.as_deref(), Some("where_is_my_order"));
        assert_eq!(t.outcome.flow, Flow::ArticlesSent { at: now() });
        assert!(!t.route());
        assert_eq!(t.tags, vec!["intent:where_is_my_order".to_string()]);
        let bot = t.bot.expect("articles sent");
        assert!(bot.then_pending);
        assert!(bot.text.contains("tracking"), "{}", bot.text);
    }

    #[test]
    fn automate_asks_the_first_question() {
        let t = first(&config(), msg("I want to return a product"), now());
        assert_eq!(
            t.outcome.flow,
            Flow::Collecting {
                field: 0,
                attempts: 0
            }
        );
        assert_eq!(
            t.bot,
            Some(BotMessage {
                text: "Your order number?".into(),
                then_pending: false
            })
        );
        assert!(!t.route());
    }

    #[test]
    fn leverage_and_unknown_go_to_a_human() {
        let t = first(&config(), msg("a complaint"), now());
        assert!(t.route() && t.bot.is_none());
        assert_eq!(t.outcome.skills, vec![("care".to_string(), 2)]);
        assert_eq!(t.outcome.priority, Priority::High);
        let t = first(
            &config(),
            MessageFacts {
                vip: true,
                live_channel: true,
                ..msg("hello there")
            },
            now(),
        );
        assert_eq!(t.outcome.intent, None);
        assert!(t.route() && t.tags.is_empty());
        assert_eq!(t.outcome.priority, Priority::Urgent);
    }

    #[test]
    fn writing_again_after_articles_hands_over() {
        let cfg = config();
        let t = first(&cfg, msg("where is my order"), now());
        let Advance::Changed {
            outcome,
            ask,
            hand_over,
        } = advance(&cfg, t.outcome, "still nothing", false, now())
        else {
            panic!("changed");
        };
        assert_eq!(ask, None);
        let reason = hand_over.expect("handed over");
        assert!(outcome.needs_human);
        assert_eq!(outcome.flow, Flow::HandedOver { at: now(), reason });
    }

    #[test]
    fn the_form_is_collected_then_handed_over() {
        let cfg = config();
        let t = first(&cfg, msg("return a product"), now());
        // A bad answer is asked again, then a good one moves to the next field.
        let Advance::Changed { outcome, ask, .. } =
            advance(&cfg, t.outcome, "no idea", false, now())
        else {
            panic!("changed");
        };
        assert!(ask.expect("asked again").text.starts_with("Sorry"));
        assert_eq!(
            outcome.flow,
            Flow::Collecting {
                field: 0,
                attempts: 1
            }
        );
        let Advance::Changed { outcome, ask, .. } =
            advance(&cfg, outcome, "order 12345", false, now())
        else {
            panic!("changed");
        };
        assert_eq!(ask.expect("next question").text, "Why?");
        assert_eq!(
            outcome.collected.get("order").map(String::as_str),
            Some("12345")
        );
        let Advance::Changed {
            outcome, hand_over, ..
        } = advance(&cfg, outcome, "broken", false, now())
        else {
            panic!("changed");
        };
        assert_eq!(hand_over.as_deref(), Some("the form is complete"));
        assert!(outcome.needs_human);
    }

    #[test]
    fn too_many_bad_answers_hand_over() {
        let cfg = config();
        let t = first(&cfg, msg("return a product"), now());
        let mut outcome = t.outcome;
        outcome.flow = Flow::Collecting {
            field: 0,
            attempts: cfg.max_attempts - 1,
        };
        let Advance::Changed { hand_over, ask, .. } = advance(&cfg, outcome, "???", false, now())
        else {
            panic!("changed");
        };
        assert_eq!(ask, None);
        assert!(hand_over.expect("handed over").contains("not understood"));
    }

    #[test]
    fn a_human_conversation_is_routed_only_with_routing_on() {
        let cfg = config();
        let t = first(&cfg, msg("a complaint"), now());
        assert_eq!(
            advance(&cfg, t.outcome.clone(), "more", true, now()),
            Advance::Unchanged {
                route: Some(vec![("care".to_string(), 2)])
            }
        );
        assert_eq!(
            advance(&cfg, t.outcome, "more", false, now()),
            Advance::Unchanged { route: None }
        );
    }
}
