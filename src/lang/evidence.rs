//! Per-customer language evidence and the rule that decides a message's language.

use serde::{Deserialize, Serialize};

use super::{Detection, Language};

/// What is known about one customer's language, and the rule that decides a message's
/// language from its text and that knowledge.
///
/// Evidence, strongest first: the language the host set on the profile, reliable
/// detections of earlier messages (counted per language), guesses on long texts that a
/// prior confirmed, the channel's locale hint, and the prior (the languages of the
/// address's country, or the tenant's languages). A reliable detection of a long text
/// (five words or more) is taken as it is; on a short text, a reliable detection is taken
/// only when nothing is established yet or it agrees. An unreliable best guess is taken
/// only when nothing is established and the locale or the prior confirms it, or the text
/// is long, the guess confident (0.4) and neither the locale nor the prior names another
/// language; otherwise the
/// established language, the locale, or a prior of one language decides — unless the
/// guess confidently names a language the prior does not, which leaves the message without
/// a language: a wrong language is worse than none (the reply template and the agent
/// follow it).
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
/// // A new customer texting from a Dutch number: the country decides a short text.
/// let fresh = LanguageEvidence { prior: vec![nl], ..LanguageEvidence::default() };
/// assert_eq!(fresh.decide("pakket kwijt", d.detect("pakket kwijt")), Some(nl));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LanguageEvidence {
    /// The language set on the customer's profile by the host or agent.
    pub preferred: Option<Language>,
    /// Reliable detections so far, per language.
    pub detections: Vec<(Language, u32)>,
    /// Unreliable best guesses on long texts (five words or more) that the locale or the
    /// prior confirmed, per language: used only while there is no reliable detection.
    #[serde(default)]
    pub guesses: Vec<(Language, u32)>,
    /// The latest locale hint from a channel.
    pub locale: Option<Language>,
    /// The weakest evidence, from the latest message: the languages of its address's
    /// country (a phone number's, an e-mail domain's country-code TLD, see
    /// [`crate::lang::languages_of`]) that the tenant answers in, else the tenant's
    /// languages; most likely first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prior: Vec<Language>,
}

/// Texts with fewer words than this are short: only a prior or agreement decides them.
const SHORT_WORDS: usize = 5;

/// An unreliable guess at least this confident that names a language outside the prior
/// overrules a one-language prior (the message gets no language); among a prior of
/// several languages, a guess needs this confidence to be taken.
pub(super) const CONFIDENT: f64 = 0.5;

/// A long text's unreliable best guess at least this confident is taken when nothing is
/// known (about 94% of such guesses are right on the evaluation set, see
/// `docs/language.md`).
const GUESS: f64 = 0.4;

impl LanguageEvidence {
    /// The customer's established language: the profile's, else the most often reliably
    /// detected (ties: the earliest seen), else the most frequent confirmed guess, else
    /// the channel's locale. The prior is not a customer's language: it only decides
    /// messages (see [`LanguageEvidence::decide`]).
    pub fn established(&self) -> Option<Language> {
        self.strong().or(self.locale)
    }

    /// The profile's language or one learnt from the customer's own messages.
    fn strong(&self) -> Option<Language> {
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
    }

    /// Whether the locale or the prior confirms an unreliable guess.
    fn confirms(&self, d: &Detection) -> bool {
        self.locale == Some(d.language)
            || match self.prior.as_slice() {
                [only] => *only == d.language,
                many => many.contains(&d.language) && d.confidence >= CONFIDENT,
            }
    }

    /// Whether nothing weak speaks against a guess: no locale hint, and no prior or one
    /// that names it.
    fn unopposed(&self, d: &Detection) -> bool {
        self.locale.is_none() && (self.prior.is_empty() || self.prior.contains(&d.language))
    }

    /// What decides when the text does not: the locale, else a prior of one language
    /// unless the text's guess confidently names another.
    fn fallback(&self, detection: Option<Detection>) -> Option<Language> {
        if self.locale.is_some() {
            return self.locale;
        }
        match self.prior.as_slice() {
            [only]
                if !detection.is_some_and(|d| d.language != *only && d.confidence >= CONFIDENT) =>
            {
                Some(*only)
            }
            _ => None,
        }
    }

    /// The language of a message with this text and detection.
    pub fn decide(&self, text: &str, detection: Option<Detection>) -> Option<Language> {
        let known = self.strong();
        let words = text.split_whitespace().count();
        match detection {
            Some(d)
                if d.reliable
                    && (words >= SHORT_WORDS || known.is_none() || known == Some(d.language)) =>
            {
                Some(d.language)
            }
            Some(d)
                if known.is_none()
                    && (self.confirms(&d)
                        || (self.unopposed(&d)
                            && words >= SHORT_WORDS
                            && d.confidence >= GUESS)) =>
            {
                Some(d.language)
            }
            _ => known.or_else(|| self.fallback(detection)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(c: &str) -> Language {
        Language::from_code(c).unwrap()
    }

    fn guess(c: &str, confidence: f64) -> Option<Detection> {
        Some(Detection {
            language: lang(c),
            confidence,
            reliable: false,
        })
    }

    #[test]
    fn a_prior_decides_only_what_the_text_does_not() {
        let nl = LanguageEvidence {
            prior: vec![lang("nl")],
            ..LanguageEvidence::default()
        };
        assert_eq!(nl.decide("ok", None), Some(lang("nl")));
        assert_eq!(nl.decide("ok dank", guess("af", 0.1)), Some(lang("nl")));
        // A confident guess of another language leaves the message without one.
        assert_eq!(nl.decide("ok thanks", guess("en", 0.6)), None);
        // A reliable detection wins over the prior, even on a short text.
        let pl = Some(Detection {
            language: lang("pl"),
            confidence: 0.9,
            reliable: true,
        });
        assert_eq!(nl.decide("dzięki", pl), Some(lang("pl")));
        // Nothing known, no prior: an unreliable guess is no answer unless the text is long
        // and the guess confident.
        let none = LanguageEvidence::default();
        let long = "this is a longer text of more than five words";
        assert_eq!(none.decide(long, guess("en", 0.3)), None);
        assert_eq!(none.decide(long, guess("en", 0.8)), Some(lang("en")));
        assert_eq!(none.decide("two words", guess("en", 0.8)), None);
        // A locale or a prior naming another language keeps a long guess out.
        let fi = LanguageEvidence {
            locale: Some(lang("fi")),
            ..LanguageEvidence::default()
        };
        assert_eq!(fi.decide(long, guess("sv", 0.8)), Some(lang("fi")));
        let nl = LanguageEvidence {
            prior: vec![lang("nl")],
            ..LanguageEvidence::default()
        };
        assert_eq!(nl.decide(long, guess("en", 0.8)), None);
    }

    #[test]
    fn the_most_often_detected_language_is_established_ties_to_the_earliest() {
        let ev = |detections: Vec<(Language, u32)>| LanguageEvidence {
            detections,
            ..LanguageEvidence::default()
        };
        let (nl, en, de) = (lang("nl"), lang("en"), lang("de"));
        assert_eq!(ev(vec![(nl, 1), (en, 3), (de, 2)]).established(), Some(en));
        assert_eq!(ev(vec![(en, 3), (nl, 1)]).established(), Some(en));
        assert_eq!(
            ev(vec![(nl, 2), (en, 2)]).established(),
            Some(nl),
            "a tie: the earliest"
        );
        assert_eq!(ev(vec![]).established(), None);
    }

    #[test]
    fn among_several_languages_a_guess_needs_confidence() {
        let four = LanguageEvidence {
            prior: ["nl", "de", "fr", "en"].map(lang).to_vec(),
            ..LanguageEvidence::default()
        };
        assert_eq!(four.decide("x y", guess("de", 0.6)), Some(lang("de")));
        assert_eq!(four.decide("x y", guess("de", 0.3)), None);
        assert_eq!(four.decide("x y", guess("it", 0.9)), None);
        assert_eq!(four.decide("x y", None), None);
        // The locale confirms a guess and decides when the text does not.
        let fi = LanguageEvidence {
            locale: Some(lang("fi")),
            ..four
        };
        assert_eq!(fi.decide("x y", guess("fi", 0.1)), Some(lang("fi")));
        assert_eq!(fi.decide("x y", None), Some(lang("fi")));
    }
}
