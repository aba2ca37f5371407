//! Language of every message: a [`LanguageDetector`] trait, the default
//! [`WhatlangDetector`], and [`LanguageEvidence`], which decides a customer's language from
//! text plus what is already known about them (short texts lean on the prior).
//!
//! `None` from a detector means "don't know", which is better than a wrong guess: the
//! evidence then keeps the established language. Figures on the evaluation set are in
//! `docs/language.md`.

use std::fmt;

use serde::{Deserialize, Serialize};

mod evidence;
#[cfg(feature = "lingua")]
mod fallback;
mod orthography;
mod prior;

pub use evidence::LanguageEvidence;
#[cfg(feature = "lingua")]
pub use fallback::LinguaDetector;
pub use prior::{country_languages, languages_of, weigh_prior};

/// A language, identified by its ISO 639-1 code where one exists (`"nl"`, `"fi"`, `"nb"`
/// for Norwegian Bokmål), else its ISO 639-3 code. No detector's type appears in the API.
///
/// ```
/// use throughline::lang::Language;
/// let nl = Language::from_code("nl").unwrap();
/// assert_eq!(nl.code(), "nl");
/// assert_eq!(Language::from_code("nld"), Some(nl)); // ISO 639-3 works too
/// assert_eq!(Language::from_code("no").unwrap().code(), "nb");
/// assert_eq!(Language::from_code("xx"), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language(u8);

/// ISO 639-3 (whatlang's codes) to ISO 639-1 where one exists.
fn iso1(code3: &str) -> Option<&'static str> {
    Some(match code3 {
        "epo" => "eo",
        "eng" => "en",
        "rus" => "ru",
        "cmn" => "zh",
        "spa" => "es",
        "por" => "pt",
        "ita" => "it",
        "ben" => "bn",
        "fra" => "fr",
        "deu" => "de",
        "ukr" => "uk",
        "kat" => "ka",
        "ara" => "ar",
        "hin" => "hi",
        "jpn" => "ja",
        "heb" => "he",
        "yid" => "yi",
        "pol" => "pl",
        "amh" => "am",
        "jav" => "jv",
        "kor" => "ko",
        "nob" => "nb",
        "dan" => "da",
        "swe" => "sv",
        "fin" => "fi",
        "tur" => "tr",
        "nld" => "nl",
        "hun" => "hu",
        "ces" => "cs",
        "ell" => "el",
        "bul" => "bg",
        "bel" => "be",
        "mar" => "mr",
        "kan" => "kn",
        "ron" => "ro",
        "slv" => "sl",
        "hrv" => "hr",
        "srp" => "sr",
        "mkd" => "mk",
        "lit" => "lt",
        "lav" => "lv",
        "est" => "et",
        "tam" => "ta",
        "vie" => "vi",
        "urd" => "ur",
        "tha" => "th",
        "guj" => "gu",
        "uzb" => "uz",
        "pan" => "pa",
        "aze" => "az",
        "ind" => "id",
        "tel" => "te",
        "pes" => "fa",
        "mal" => "ml",
        "ori" => "or",
        "mya" => "my",
        "nep" => "ne",
        "sin" => "si",
        "khm" => "km",
        "tuk" => "tk",
        "aka" => "ak",
        "zul" => "zu",
        "sna" => "sn",
        "afr" => "af",
        "lat" => "la",
        "slk" => "sk",
        "cat" => "ca",
        "tgl" => "tl",
        "hye" => "hy",
        _ => return None,
    })
}

impl Language {
    fn all() -> &'static [whatlang::Lang] {
        whatlang::Lang::all()
    }

    fn from_whatlang(l: whatlang::Lang) -> Language {
        let i = Self::all().iter().position(|x| *x == l).unwrap_or(0);
        Language(i as u8)
    }

    fn whatlang(self) -> whatlang::Lang {
        Self::all()
            .get(usize::from(self.0))
            .copied()
            .unwrap_or(whatlang::Lang::Eng)
    }

    /// The language with this ISO 639-1 or 639-3 code (case-insensitive; `"no"` is
    /// Norwegian Bokmål; a region suffix like `"pt-BR"` is ignored).
    pub fn from_code(code: &str) -> Option<Language> {
        let c = code.trim().to_ascii_lowercase();
        let c = c.split(['-', '_']).next().unwrap_or("");
        let c = if c == "no" { "nb" } else { c };
        Self::all()
            .iter()
            .position(|l| l.code() == c || iso1(l.code()) == Some(c))
            .map(|i| Language(i as u8))
    }

    /// The ISO 639-1 code where one exists, else ISO 639-3.
    pub fn code(self) -> &'static str {
        let c3 = self.whatlang().code();
        iso1(c3).unwrap_or(c3)
    }

    /// The English name ("Dutch").
    pub fn name(self) -> &'static str {
        self.whatlang().eng_name()
    }

    /// Every language the default detector knows.
    pub fn all_known() -> impl Iterator<Item = Language> {
        (0..Self::all().len()).map(|i| Language(i as u8))
    }
}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Language({})", self.code())
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.code())
    }
}

impl Serialize for Language {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Language::from_code(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown language code {s:?}")))
    }
}

/// A detector's answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The language.
    pub language: Language,
    /// The detector's confidence, 0 to 1.
    pub confidence: f64,
    /// Whether the detector vouches for it (a reliable answer may overwrite what is
    /// known about a customer; an unreliable one may not).
    pub reliable: bool,
}

/// Detects the language of a text.
///
/// # Contract
///
/// `detect` never panics, whatever the text; it returns `None` when it does not know
/// (empty text, digits only, too little evidence). `reliable` must only be set when the
/// answer is right in the vast majority of cases (the default aims at 99%): the Desk lets a
/// reliable detection change a customer's established language and ignores unreliable
/// ones on short texts.
pub trait LanguageDetector: fmt::Debug + Send + Sync {
    /// The language of `text`, or `None`.
    fn detect(&self, text: &str) -> Option<Detection>;

    /// The language of `text` among `languages` only (a tenant's), or `None`; with no
    /// languages, as [`LanguageDetector::detect`]. The default drops an answer of
    /// `detect` outside them; a detector that can restrict its model answers better.
    fn detect_among(&self, text: &str, languages: &[Language]) -> Option<Detection> {
        self.detect(text)
            .filter(|d| languages.is_empty() || languages.contains(&d.language))
    }
}

impl<T: LanguageDetector + ?Sized> LanguageDetector for &T {
    fn detect(&self, text: &str) -> Option<Detection> {
        (**self).detect(text)
    }

    fn detect_among(&self, text: &str, languages: &[Language]) -> Option<Detection> {
        (**self).detect_among(text, languages)
    }
}

impl<T: LanguageDetector + ?Sized> LanguageDetector for Box<T> {
    fn detect(&self, text: &str) -> Option<Detection> {
        (**self).detect(text)
    }

    fn detect_among(&self, text: &str, languages: &[Language]) -> Option<Detection> {
        (**self).detect_among(text, languages)
    }
}

impl<T: LanguageDetector + ?Sized> LanguageDetector for std::sync::Arc<T> {
    fn detect(&self, text: &str) -> Option<Detection> {
        (**self).detect(text)
    }

    fn detect_among(&self, text: &str, languages: &[Language]) -> Option<Detection> {
        (**self).detect_among(text, languages)
    }
}

/// A detector that never answers: for hosts that know the language from elsewhere, and for
/// a pass-through desk.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDetector;

impl LanguageDetector for NoDetector {
    fn detect(&self, _text: &str) -> Option<Detection> {
        None
    }
}

/// The default detector: whatlang's trigram model, optionally restricted to the tenant's
/// languages, and conservative about what it calls reliable.
///
/// An answer is returned when whatlang has one; it is `reliable` when whatlang calls it
/// reliable, when the text's script is written by exactly one of the allowed languages
/// (Greek, Hebrew, Thai, Hangul, kana...), when a letter of the text belongs to the
/// alphabet of only one allowed language of its script and every other special letter to
/// the same alphabet ("ł" Polish, "ř" Czech, "ї" Ukrainian: orthography as a second
/// opinion), or, for a restricted detector, when its confidence is at least 0.5 and the
/// unrestricted model names the same language.
///
/// ```
/// use throughline::lang::{Language, LanguageDetector, WhatlangDetector};
/// let d = WhatlangDetector::with_languages(&[Language::from_code("nl").unwrap(), Language::from_code("en").unwrap()]);
/// let found = d.detect("Waar is mijn pakket? Ik heb het vorige week besteld.").unwrap();
/// assert_eq!(found.language.code(), "nl");
/// assert!(d.detect("12345").is_none());
/// ```
#[derive(Debug, Clone)]
pub struct WhatlangDetector {
    detector: whatlang::Detector,
    allowed: Option<Vec<whatlang::Lang>>,
}

impl Default for WhatlangDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl WhatlangDetector {
    /// Every language whatlang knows.
    pub fn new() -> Self {
        WhatlangDetector {
            detector: whatlang::Detector::new(),
            allowed: None,
        }
    }

    /// Only these languages (the tenant's): fewer candidates, more right answers.
    pub fn with_languages(languages: &[Language]) -> Self {
        let list: Vec<whatlang::Lang> = languages.iter().map(|l| l.whatlang()).collect();
        WhatlangDetector {
            detector: whatlang::Detector::with_allowlist(list.clone()),
            allowed: Some(list),
        }
    }

    /// Whether `lang` is the only allowed language written in `script`.
    fn script_settles(&self, script: whatlang::Script, lang: whatlang::Lang) -> bool {
        let candidates: &[whatlang::Lang] = match &self.allowed {
            Some(list) => list,
            None => whatlang::Lang::all(),
        };
        let in_script = candidates
            .iter()
            .filter(|l| script_langs(script).contains(l))
            .count();
        in_script == 1 && script_langs(script).contains(&lang)
    }
}

/// The languages whatlang writes in `script` (those it can tell apart only by trigrams
/// share a script).
fn script_langs(script: whatlang::Script) -> &'static [whatlang::Lang] {
    use whatlang::Lang::*;
    use whatlang::Script as S;
    match script {
        S::Greek => &[Ell],
        S::Hebrew => &[Heb, Yid],
        S::Thai => &[Tha],
        S::Hangul => &[Kor],
        S::Hiragana | S::Katakana => &[Jpn],
        S::Georgian => &[Kat],
        S::Armenian => &[Hye],
        S::Bengali => &[Ben],
        S::Devanagari => &[Hin, Mar, Nep],
        S::Arabic => &[Ara, Urd, Pes],
        S::Mandarin => &[Cmn, Jpn],
        S::Cyrillic => &[Rus, Ukr, Srp, Bel, Bul, Mkd],
        S::Ethiopic => &[Amh],
        S::Gujarati => &[Guj],
        S::Gurmukhi => &[Pan],
        S::Kannada => &[Kan],
        S::Khmer => &[Khm],
        S::Malayalam => &[Mal],
        S::Myanmar => &[Mya],
        S::Oriya => &[Ori],
        S::Sinhala => &[Sin],
        S::Tamil => &[Tam],
        S::Telugu => &[Tel],
        _ => &[],
    }
}

impl LanguageDetector for WhatlangDetector {
    /// Restricts the model to `languages` (those of them this detector allows).
    fn detect_among(&self, text: &str, languages: &[Language]) -> Option<Detection> {
        if languages.is_empty() {
            return self.detect(text);
        }
        let among: Vec<Language> = languages
            .iter()
            .copied()
            .filter(|l| {
                self.allowed
                    .as_ref()
                    .is_none_or(|a| a.contains(&l.whatlang()))
            })
            .collect();
        if among.is_empty() {
            return None;
        }
        WhatlangDetector::with_languages(&among).detect(text)
    }

    fn detect(&self, text: &str) -> Option<Detection> {
        if !text.chars().any(char::is_alphabetic) {
            return None;
        }
        let info = self.detector.detect(text)?;
        let lang = info.lang();
        let candidates: &[whatlang::Lang] = match &self.allowed {
            Some(list) => list,
            None => whatlang::Lang::all(),
        };
        let mut reliable = info.is_reliable()
            || self.script_settles(info.script(), lang)
            || orthography::settles(text, lang, candidates);
        if !reliable && self.allowed.is_some() && info.confidence() >= 0.5 {
            // A second opinion: the unrestricted model, which has every other language to
            // choose from, names the same one.
            reliable = whatlang::detect_lang(text) == Some(lang);
        }
        Some(Detection {
            language: Language::from_whatlang(lang),
            confidence: if reliable {
                info.confidence().max(0.9)
            } else {
                info.confidence()
            },
            reliable,
        })
    }
}

/// A text in several languages, picked by a conversation's language (a reply template).
///
/// ```
/// use throughline::lang::{Language, Localized};
/// let thanks = Localized::new("Thanks, we are on it.").with("nl", "Bedankt, we gaan ermee aan de slag.");
/// assert_eq!(thanks.pick(Language::from_code("nl")), "Bedankt, we gaan ermee aan de slag.");
/// assert_eq!(thanks.pick(Language::from_code("fi")), "Thanks, we are on it.");
/// assert_eq!(thanks.pick(None), "Thanks, we are on it.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    /// The text when no translation matches.
    pub fallback: String,
    /// Translations by language code.
    pub texts: std::collections::BTreeMap<String, String>,
}

impl Localized {
    /// A text with only its fallback.
    pub fn new(fallback: impl Into<String>) -> Self {
        Localized {
            fallback: fallback.into(),
            texts: std::collections::BTreeMap::new(),
        }
    }

    /// Adds a translation (`code` as accepted by [`Language::from_code`]).
    pub fn with(mut self, code: &str, text: impl Into<String>) -> Self {
        let key = Language::from_code(code)
            .map_or_else(|| code.to_ascii_lowercase(), |l| l.code().to_string());
        self.texts.insert(key, text.into());
        self
    }

    /// The text for `language`, else the fallback.
    pub fn pick(&self, language: Option<Language>) -> &str {
        language
            .and_then(|l| self.texts.get(l.code()))
            .map_or(self.fallback.as_str(), String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for l in Language::all_known() {
            assert_eq!(Language::from_code(l.code()), Some(l), "{}", l.code());
            let json = serde_json::to_string(&l).unwrap();
            assert_eq!(serde_json::from_str::<Language>(&json).unwrap(), l);
        }
        assert_eq!(Language::from_code("pt-BR").unwrap().code(), "pt");
        assert_eq!(Language::from_code("FI").unwrap().code(), "fi");
        assert_eq!(Language::from_code("zh").unwrap().code(), "zh");
    }

    #[test]
    fn detector_never_panics_and_refuses_noise() {
        let d = WhatlangDetector::new();
        for t in ["", " ", "123 456", "!!!", "\u{0}", "🙂🙂", "\u{202E}abc"] {
            let _ = d.detect(t);
        }
        assert!(d.detect("").is_none());
        assert!(d.detect("2026-03-02 12:00").is_none());
        let el = d.detect("Πού είναι το δέμα μου;").unwrap();
        assert_eq!((el.language.code(), el.reliable), ("el", true));
    }

    #[test]
    fn a_short_unreliable_text_does_not_overwrite_the_established_language() {
        let nl = Language::from_code("nl").unwrap();
        let en = Language::from_code("en").unwrap();
        let ev = LanguageEvidence {
            detections: vec![(nl, 3)],
            ..LanguageEvidence::default()
        };
        let weak = Some(Detection {
            language: en,
            confidence: 0.2,
            reliable: false,
        });
        assert_eq!(ev.decide("ok thanks", weak), Some(nl));
        let strong_short = Some(Detection {
            language: en,
            confidence: 0.9,
            reliable: true,
        });
        assert_eq!(ev.decide("ok thanks", strong_short), Some(nl));
        let long = "I would like to know where my parcel is right now please";
        assert_eq!(ev.decide(long, strong_short), Some(en));
    }
}
