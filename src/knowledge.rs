//! Self-service context: what a customer did before contacting support (articles read,
//! searches, bot turns), and which articles fail to prevent contacts.
//!
//! Hosts report activity with `Desk::article_viewed`, `Desk::searched` and
//! `Desk::bot_turn`; the agent sees it beside the conversation
//! (`Desk::self_service_context`: "read the returns article twice before writing"), and
//! [`article_report`] ranks articles by the contacts that followed a read.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId};

/// What the customer did on their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum ActivityKind {
    /// Read a help article.
    ArticleViewed {
        /// The host's article id.
        article: String,
        /// Its title, for display.
        title: Option<String>,
    },
    /// Searched the help centre.
    Searched {
        /// The query as typed.
        query: String,
    },
    /// Talked to a bot (one turn).
    BotTurn {
        /// What the customer wrote.
        text: String,
        /// The intent the bot recognised, if any.
        intent: Option<String>,
    },
}

/// One self-service activity of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// The customer.
    pub customer: CustomerId,
    /// What they did.
    pub kind: ActivityKind,
    /// Where (the web, the app, a messaging channel), when known.
    pub channel: Option<Channel>,
    /// When.
    pub at: DateTime<Utc>,
}

impl Activity {
    /// Checks sizes and emptiness of what the host reported.
    pub(crate) fn validate(&self) -> Result<()> {
        let (field, text, max): (&'static str, &str, usize) = match &self.kind {
            ActivityKind::ArticleViewed { article, title } => {
                if let Some(t) = title {
                    if t.len() > 512 {
                        return Err(Error::invalid(
                            "title",
                            format!("{} bytes, the maximum is 512", t.len()),
                        ));
                    }
                }
                ("article", article, 256)
            }
            ActivityKind::Searched { query } => ("query", query, 1024),
            ActivityKind::BotTurn { text, .. } => ("text", text, 16 * 1024),
        };
        if text.trim().is_empty() {
            return Err(Error::invalid(field, "empty"));
        }
        if text.len() > max {
            return Err(Error::invalid(
                field,
                format!("{} bytes, the maximum is {max}", text.len()),
            ));
        }
        Ok(())
    }

    /// A one-line description for an agent ("read \"Returns\"").
    pub fn describe(&self) -> String {
        match &self.kind {
            ActivityKind::ArticleViewed { article, title } => {
                format!("read \"{}\"", title.as_deref().unwrap_or(article))
            }
            ActivityKind::Searched { query } => format!("searched \"{query}\""),
            ActivityKind::BotTurn { text, .. } => format!("told the bot \"{text}\""),
        }
    }
}

/// Summarises activities for an agent: repeated reads are counted ("read \"Returns\"
/// twice"), in order of first occurrence.
pub fn summarize(activities: &[Activity]) -> Vec<String> {
    let mut lines: Vec<(String, usize)> = Vec::new();
    for a in activities {
        let d = a.describe();
        match lines.iter_mut().find(|(l, _)| *l == d) {
            Some((_, n)) => *n += 1,
            None => lines.push((d, 1)),
        }
    }
    lines
        .into_iter()
        .map(|(l, n)| match n {
            1 => l,
            2 => format!("{l} twice"),
            n => format!("{l} {n} times"),
        })
        .collect()
}

/// How one article did: read, and how often a contact followed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ArticleStats {
    /// The article.
    pub article: String,
    /// Customers who read it.
    pub readers: usize,
    /// Readers who contacted support within the window after reading.
    pub contacted_after: usize,
    /// `contacted_after / readers`: high means the article does not answer the question.
    pub contact_rate: f64,
}

/// "Contacted despite reading article X", per article, worst first.
///
/// `views` are article reads; `contacts` are (customer, time) of conversations opened or
/// messages sent; a reader counts as contacting when a contact follows a read within
/// `window`.
pub fn article_report(
    views: &[Activity],
    contacts: &[(CustomerId, DateTime<Utc>, ConversationId)],
    window: TimeDelta,
) -> Vec<ArticleStats> {
    let mut by_article: BTreeMap<&str, BTreeMap<CustomerId, Vec<DateTime<Utc>>>> = BTreeMap::new();
    for v in views {
        if let ActivityKind::ArticleViewed { article, .. } = &v.kind {
            by_article
                .entry(article)
                .or_default()
                .entry(v.customer)
                .or_default()
                .push(v.at);
        }
    }
    let mut out: Vec<ArticleStats> = by_article
        .into_iter()
        .map(|(article, readers)| {
            let contacted_after = readers
                .iter()
                .filter(|(c, reads)| {
                    contacts.iter().any(|(who, at, _)| {
                        who == *c && reads.iter().any(|r| *at >= *r && *at - *r <= window)
                    })
                })
                .count();
            let n = readers.len();
            ArticleStats {
                article: article.to_string(),
                readers: n,
                contacted_after,
                contact_rate: if n == 0 {
                    0.0
                } else {
                    contacted_after as f64 / n as f64
                },
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.contact_rate
            .total_cmp(&a.contact_rate)
            .then(b.readers.cmp(&a.readers))
            .then(a.article.cmp(&b.article))
    });
    out
}
