//! The optional high-accuracy fallback (`lingua` feature): whatlang first, the `lingua`
//! crate's high-accuracy models for what whatlang is not sure about.

use std::fmt;
use std::str::FromStr;

use super::{Detection, Language, LanguageDetector, WhatlangDetector};

/// Whatlang first, then, for every text whatlang does not vouch for, the `lingua` crate's
/// high-accuracy models (feature `lingua`, off by default).
///
/// The trade-off: lingua answers about nine in ten short texts correctly where whatlang
/// vouches for about half, at a tenth of the speed (it only runs on texts whatlang is
/// unsure about) and with its models in memory (about 1 GB for all 75 languages, much less
/// when restricted to the tenant's languages; loaded on first use) and a longer build.
/// A fallback answer is `reliable` only when whatlang's own best guess agrees with it:
/// two independent models naming the same language. When they disagree and lingua gives
/// its choice less than half of the probability, the answer is `None` ("don't know").
///
/// ```
/// # #[cfg(feature = "lingua")] {
/// use throughline::lang::{Language, LanguageDetector, LinguaDetector};
/// let d = LinguaDetector::with_languages(&[Language::from_code("nl").unwrap(), Language::from_code("de").unwrap()]);
/// assert_eq!(d.detect("waar is mijn pakket").unwrap().language.code(), "nl");
/// # }
/// ```
pub struct LinguaDetector {
    first: WhatlangDetector,
    fallback: Option<lingua::LanguageDetector>,
}

impl fmt::Debug for LinguaDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinguaDetector")
            .field("first", &self.first)
            .finish_non_exhaustive()
    }
}

impl Default for LinguaDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl LinguaDetector {
    /// Every language both models know.
    pub fn new() -> Self {
        LinguaDetector {
            first: WhatlangDetector::new(),
            fallback: Some(lingua::LanguageDetectorBuilder::from_all_languages().build()),
        }
    }

    /// Only these languages (the tenant's). Languages lingua does not know are left to
    /// whatlang; with fewer than two that lingua knows, lingua is not consulted.
    pub fn with_languages(languages: &[Language]) -> Self {
        let known: Vec<lingua::IsoCode639_1> = languages
            .iter()
            .filter_map(|l| lingua::IsoCode639_1::from_str(l.code()).ok())
            .collect();
        LinguaDetector {
            first: WhatlangDetector::with_languages(languages),
            fallback: (known.len() >= 2)
                .then(|| lingua::LanguageDetectorBuilder::from_iso_codes_639_1(&known).build()),
        }
    }
}

impl LanguageDetector for LinguaDetector {
    fn detect(&self, text: &str) -> Option<Detection> {
        self.detect_among(text, &[])
    }

    /// Whatlang restricted to `languages`, then lingua's probabilities of those languages
    /// only (renormalised), with the same agreement rule as [`LanguageDetector::detect`].
    fn detect_among(&self, text: &str, languages: &[Language]) -> Option<Detection> {
        let first = self.first.detect_among(text, languages);
        if first.is_some_and(|d| d.reliable) || !text.chars().any(char::is_alphabetic) {
            return first;
        }
        let Some(fallback) = &self.fallback else {
            return first;
        };
        let values: Vec<(Language, f64)> = fallback
            .compute_language_confidence_values(text)
            .into_iter()
            .filter_map(|(l, c)| Some((Language::from_code(&l.iso_code_639_1().to_string())?, c)))
            .filter(|(l, _)| languages.is_empty() || languages.contains(l))
            .collect();
        let total: f64 = values.iter().map(|(_, c)| c).sum();
        let Some(&(language, best)) = values.first() else {
            return first;
        };
        let confidence = if total > 0.0 { best / total } else { best };
        let agree = first.is_some_and(|d| d.language == language);
        if !agree && confidence < 0.5 {
            // The models disagree and lingua is not even half sure: don't know.
            return None;
        }
        Some(Detection {
            language,
            confidence,
            reliable: agree,
        })
    }
}
