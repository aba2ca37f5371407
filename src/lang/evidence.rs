//! Per-customer language evidence and the rule that decides a message's language.

use serde::{Deserialize, Serialize};

use super::{Detection, Language};

/// What is known about one customer's language, and the rule that decides a message's
/// language from its text and that knowledge.
///
/// Evidence, strongest first: the language the host set on the profile, reliable
/// detections of earlier messages (counted per language), best guesses on long texts, and
/// the channel's locale hint. A reliable detection of a long text (five words or more) is
/// taken as it is; on a short text, a reliable detection is taken only when nothing is
/// established yet or it agrees; an unreliable one never overrides what is known (it is
/// taken, as a guess, only for a long text when nothing is known).
///
/// ```
/// use throughline::lang::{Language, LanguageDetector, LanguageEvidence, WhatlangDetector};
/// let nl = Language::from_code("nl").unwrap();
/// let mut ev = LanguageEvidence::default();
/// let d = WhatlangDetector::new();
/// let text = "Goedemiddag, ik wacht nog steeds op mijn bestelling van vorige week";
/// ev.record_text(ev.decide(text, d.detect(text)), d.detect(text), 12);
/// assert_eq!(ev.established(), Some(nl));
/// // "ok, dank" is too short to say; the customer's Dutch carries it.
/// assert_eq!(ev.decide("ok, dank", d.detect("ok, dank")), Some(nl));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LanguageEvidence {
    /// The language set on the customer's profile by the host or agent.
    pub preferred: Option<Language>,
    /// Reliable detections so far, per language.
    pub detections: Vec<(Language, u32)>,
    /// Unreliable best guesses on long texts (five words or more), per language: weak
    /// evidence, used only while there is no reliable detection.
    #[serde(default)]
    pub guesses: Vec<(Language, u32)>,
    /// The latest locale hint from a channel.
    pub locale: Option<Language>,
}

/// Texts with fewer words than this are short: only a prior or agreement decides them.
const SHORT_WORDS: usize = 5;

impl LanguageEvidence {
    /// The customer's established language: the profile's, else the most often reliably
    /// detected (ties: the earliest seen), else the most frequent guess on long texts, else
    /// the channel's locale.
    pub fn established(&self) -> Option<Language> {
        fn most(v: &[(Language, u32)]) -> Option<Language> {
            let mut best: Option<(Language, u32)> = None;
            for &(l, n) in v {
                if best.is_none_or(|(_, b)| n > b) {
                    best = Some((l, n));
                }
            }
            best.map(|(l, _)| l)
        }
        self.preferred
            .or_else(|| most(&self.detections))
            .or_else(|| most(&self.guesses))
            .or(self.locale)
    }

    /// The language of a message with this text and detection.
    pub fn decide(&self, text: &str, detection: Option<Detection>) -> Option<Language> {
        let known = self.established();
        let words = text.split_whitespace().count();
        match detection {
            Some(d)
                if d.reliable
                    && (words >= SHORT_WORDS || known.is_none() || known == Some(d.language)) =>
            {
                Some(d.language)
            }
            // Nothing known yet: a long text's best guess beats no answer.
            Some(d) if known.is_none() && words >= SHORT_WORDS => Some(d.language),
            _ => known,
        }
    }

    /// Records a message of five words or more (see [`LanguageEvidence::record_text`]).
    pub fn record(&mut self, decided: Option<Language>, detection: Option<Detection>) {
        self.record_text(decided, detection, SHORT_WORDS);
    }

    /// Records a message of `words` words: a reliable detection that agrees with the
    /// decided language adds to the evidence; an unreliable one of a long text that was
    /// taken counts as a guess.
    pub fn record_text(
        &mut self,
        decided: Option<Language>,
        detection: Option<Detection>,
        words: usize,
    ) {
        fn bump(v: &mut Vec<(Language, u32)>, l: Language) {
            match v.iter_mut().find(|(x, _)| *x == l) {
                Some((_, n)) => *n = n.saturating_add(1),
                None => v.push((l, 1)),
            }
        }
        if let (Some(l), Some(d)) = (decided, detection) {
            if d.language == l {
                if d.reliable {
                    bump(&mut self.detections, l);
                } else if words >= SHORT_WORDS {
                    bump(&mut self.guesses, l);
                }
            }
        }
    }
}
