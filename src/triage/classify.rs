//! Intent classification: the [`IntentClassifier`] trait and the default multilingual
//! [`KeywordClassifier`].

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::catalogue::IntentCatalogue;
use super::fold::words;
use crate::lang::Language;

/// An intent and how sure the classifier is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// The intent's name in the catalogue.
    pub intent: String,
    /// 0.0 to 1.0.
    pub confidence: f32,
}

/// Decides what a customer message is about.
///
/// Contract: pure and deterministic (the same text and language give the same answer);
/// never panics on any input; `None` means "no intent recognised", which the Desk treats
/// as "a human decides". The returned intent must exist in the catalogue the Desk was
/// configured with (unknown names are ignored). Plug in a model by implementing it, or
/// wrap a closure with [`classifier_fn`].
pub trait IntentClassifier: Send + Sync + std::fmt::Debug {
    /// Classifies `text`, written (if known) in `language`.
    fn classify(&self, text: &str, language: Option<Language>) -> Option<Classification>;
}

impl<T: IntentClassifier + ?Sized> IntentClassifier for &T {
    fn classify(&self, text: &str, language: Option<Language>) -> Option<Classification> {
        (**self).classify(text, language)
    }
}

impl<T: IntentClassifier + ?Sized> IntentClassifier for Box<T> {
    fn classify(&self, text: &str, language: Option<Language>) -> Option<Classification> {
        (**self).classify(text, language)
    }
}

impl<T: IntentClassifier + ?Sized> IntentClassifier for Arc<T> {
    fn classify(&self, text: &str, language: Option<Language>) -> Option<Classification> {
        (**self).classify(text, language)
    }
}

/// A classifier from a closure (see [`classifier_fn`]).
pub struct FnClassifier<F>(F);

impl<F> std::fmt::Debug for FnClassifier<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnClassifier")
    }
}

impl<F> IntentClassifier for FnClassifier<F>
where
    F: Fn(&str, Option<Language>) -> Option<Classification> + Send + Sync,
{
    fn classify(&self, text: &str, language: Option<Language>) -> Option<Classification> {
        (self.0)(text, language)
    }
}

/// Wraps a closure as an [`IntentClassifier`] (a host's own model, say).
///
/// ```
/// use throughline::triage::{classifier_fn, Classification, IntentClassifier};
/// let c = classifier_fn(|text, _| text.contains("refund").then(|| Classification { intent: "refund".into(), confidence: 0.9 }));
/// assert_eq!(c.classify("I want a refund", None).unwrap().intent, "refund");
/// ```
pub fn classifier_fn<F>(f: F) -> FnClassifier<F>
where
    F: Fn(&str, Option<Language>) -> Option<Classification> + Send + Sync,
{
    FnClassifier(f)
}

#[derive(Debug, Clone)]
struct Phrase {
    intent: u32,
    /// The tokens after the first.
    rest: Vec<String>,
    /// `None`: any language.
    language: Option<Language>,
}

/// The default classifier: the catalogue's phrases per language, matched on folded word
/// tokens (case and Latin accents ignored), found through an index by first word — the
/// cost grows with the message's length, not the catalogue's size.
///
/// Each matched phrase adds its length in words to its intent's score (a phrase in
/// another language than the message's counts 60%); the best score wins, ties by intent
/// name. Confidence: `best / (best + runner-up)`, halved for a single-word match.
///
/// ```
/// use throughline::lang::Language;
/// use throughline::triage::{Intent, IntentCatalogue, IntentClassifier, KeywordClassifier, Value};
/// let catalogue = IntentCatalogue::new()
///     .with(Intent::new("refund", Value::High, Value::High).phrases("nl", &["geld terug", "terugbetaling"]))?;
/// let c = KeywordClassifier::new(&catalogue);
/// let got = c.classify("Ik wil mijn geld terug!", Language::from_code("nl")).unwrap();
/// assert_eq!(got.intent, "refund");
/// assert!(got.confidence > 0.9);
/// # Ok::<(), throughline::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeywordClassifier {
    names: Vec<String>,
    index: HashMap<String, Vec<Phrase>>,
}

impl KeywordClassifier {
    /// Indexes the catalogue's phrases.
    pub fn new(catalogue: &IntentCatalogue) -> Self {
        let mut c = KeywordClassifier::default();
        for (i, intent) in catalogue.intents().iter().enumerate() {
            c.names.push(intent.name.clone());
            for (lang, phrases) in &intent.phrases {
                let language = if lang == "*" {
                    None
                } else {
                    Language::from_code(lang)
                };
                for p in phrases {
                    let mut tokens = words(p);
                    if tokens.is_empty() {
                        continue;
                    }
                    let first = tokens.remove(0);
                    c.index.entry(first).or_default().push(Phrase {
                        intent: i as u32,
                        rest: tokens,
                        language,
                    });
                }
            }
        }
        c
    }
}

impl IntentClassifier for KeywordClassifier {
    fn classify(&self, text: &str, language: Option<Language>) -> Option<Classification> {
        let tokens = words(text);
        let mut scores: Vec<(u32, f32, usize)> = Vec::new(); // (intent, score, longest phrase)
        for (at, token) in tokens.iter().enumerate() {
            let Some(phrases) = self.index.get(token) else {
                continue;
            };
            for p in phrases {
                let end = at + 1 + p.rest.len();
                if end > tokens.len() || tokens[at + 1..end] != p.rest[..] {
                    continue;
                }
                let len = 1 + p.rest.len();
                let weight = match (p.language, language) {
                    (Some(pl), Some(ml)) if pl != ml => 0.6,
                    _ => 1.0,
                } * len as f32;
                match scores.iter_mut().find(|(i, _, _)| *i == p.intent) {
                    Some(s) => {
                        s.1 += weight;
                        s.2 = s.2.max(len);
                    }
                    None => scores.push((p.intent, weight, len)),
                }
            }
        }
        scores.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| self.names[a.0 as usize].cmp(&self.names[b.0 as usize]))
        });
        let (best, score, longest) = *scores.first()?;
        let runner_up = scores.get(1).map_or(0.0, |s| s.1);
        let mut confidence = score / (score + runner_up);
        if longest == 1 && score < 2.0 {
            confidence *= 0.5;
        }
        Some(Classification {
            intent: self.names[best as usize].clone(),
            confidence,
        })
    }
}
