//! Language priors: what a customer's address says about their language before any text
//! is read — the country of a phone number, the country-code top-level domain of an
//! e-mail address.
//!
//! A prior is weak evidence: it never overrides a reliable detection, a language set on
//! the profile or one established from the customer's earlier messages. It decides a
//! short text that no detector can vouch for, and it lets an unreliable best guess count
//! when the guess is one of its languages. Invariant: every code in the country table is
//! one [`Language::from_code`] knows, so a prior never names an unknown language.

use super::Language;
use crate::identity::{Identifier, IdentifierKind};

/// The languages customers in a country (ISO 3166-1 alpha-2, upper case) most often
/// write to a company in, most common first; empty for a country not in the table.
///
/// The table lists national and majority languages only; where several are common (BE,
/// CH, CA, IN) all of them are listed and the prior only confirms a guess among them.
///
/// ```
/// use throughline::lang::country_languages;
/// let nl: Vec<&str> = country_languages("NL").iter().map(|l| l.code()).collect();
/// assert_eq!(nl, ["nl"]);
/// assert_eq!(country_languages("BE").len(), 3);
/// assert!(country_languages("ZZ").is_empty());
/// ```
pub fn country_languages(country: &str) -> Vec<Language> {
    let codes: &[&str] = match country {
        "NL" | "SR" => &["nl"],
        "BE" => &["nl", "fr", "de"],
        "DE" | "AT" | "LI" => &["de"],
        "CH" => &["de", "fr", "it"],
        "LU" => &["fr", "de"],
        "FR" | "MC" | "SN" | "CI" => &["fr"],
        "CA" => &["en", "fr"],
        "GB" | "IE" | "US" | "AU" | "NZ" | "JM" | "GH" | "NG" | "KE" | "ZA" | "SG" => &["en"],
        "IN" => &["hi", "en"],
        "PK" => &["ur", "en"],
        "ES" | "MX" | "AR" | "CO" | "CL" | "PE" | "VE" | "EC" | "GT" | "CU" | "BO" | "DO"
        | "HN" | "PY" | "SV" | "NI" | "CR" | "PA" | "UY" => &["es"],
        "PT" | "BR" | "AO" | "MZ" => &["pt"],
        "IT" | "SM" | "VA" => &["it"],
        "DK" => &["da"],
        "NO" => &["nb"],
        "SE" => &["sv"],
        "FI" => &["fi"],
        "EE" => &["et"],
        "LV" => &["lv"],
        "LT" => &["lt"],
        "PL" => &["pl"],
        "CZ" => &["cs"],
        "SK" => &["sk"],
        "HU" => &["hu"],
        "RO" | "MD" => &["ro"],
        "BG" => &["bg"],
        "GR" | "CY" => &["el"],
        "TR" => &["tr"],
        "RU" | "BY" | "KZ" | "KG" => &["ru"],
        "UA" => &["uk"],
        "RS" => &["sr"],
        "HR" => &["hr"],
        "SI" => &["sl"],
        "MK" => &["mk"],
        "IL" => &["he"],
        "SA" | "AE" | "EG" | "MA" | "DZ" | "TN" | "JO" | "LB" | "IQ" | "KW" | "QA" | "BH"
        | "OM" | "YE" | "LY" | "SY" => &["ar"],
        "IR" => &["fa"],
        "TH" => &["th"],
        "VN" => &["vi"],
        "ID" => &["id"],
        "JP" => &["ja"],
        "KR" => &["ko"],
        "CN" | "TW" | "HK" => &["zh"],
        "BD" => &["bn"],
        "GE" => &["ka"],
        "AM" => &["hy"],
        "AZ" => &["az"],
        "UZ" => &["uz"],
        "PH" => &["tl", "en"],
        _ => &[],
    };
    codes
        .iter()
        .filter_map(|c| Language::from_code(c))
        .collect()
}

/// Country-code top-level domains used as generic names ("startup.io", "name.me"): they
/// say nothing about where the writer lives.
const GENERIC_CCTLDS: &[&str] = &[
    "io", "co", "me", "tv", "ai", "ly", "fm", "to", "cc", "gg", "sh", "ws", "la", "so", "ag", "am",
    "im", "is", "vc", "bz", "nu", "tk", "ml", "ga", "cf", "gq", "app", "dev",
];

/// The languages an identifier suggests: a phone or WhatsApp number's country, an e-mail
/// domain's country-code top-level domain (`.nl`, `.de`; not `.com`, nor ccTLDs used as
/// generic names such as `.io`). Empty when it suggests none.
///
/// ```
/// use throughline::Identifier;
/// use throughline::lang::languages_of;
/// let codes = |i: &Identifier| languages_of(i).iter().map(|l| l.code()).collect::<Vec<_>>();
/// assert_eq!(codes(&Identifier::phone("+31 6 12345678", None)?), ["nl"]);
/// assert_eq!(codes(&Identifier::email("anna@voorbeeld.nl")?), ["nl"]);
/// assert!(codes(&Identifier::email("anna@startup.io")?).is_empty());
/// assert!(codes(&Identifier::email("anna@example.com")?).is_empty());
/// # Ok::<(), throughline::Error>(())
/// ```
pub fn languages_of(identifier: &Identifier) -> Vec<Language> {
    match identifier.kind() {
        IdentifierKind::Phone | IdentifierKind::WhatsApp => phone_country(identifier.value())
            .map(|c| country_languages(&c))
            .unwrap_or_default(),
        IdentifierKind::Email => {
            let domain = identifier.value().rsplit('@').next().unwrap_or("");
            let tld = domain.rsplit('.').next().unwrap_or("");
            if tld.len() != 2 || GENERIC_CCTLDS.contains(&tld) {
                return Vec::new();
            }
            let country = match tld {
                "uk" => "GB".to_string(),
                other => other.to_ascii_uppercase(),
            };
            country_languages(&country)
        }
        _ => Vec::new(),
    }
}

/// The detection to decide a message with, given the prior: a best guess that the
/// detector does not vouch for is put to the detector once more, among the prior's
/// languages and the guess alone ("Dutch or Afrikaans?", "Dutch or English?"). When the
/// guess wins clearly and is not one of the prior's languages, it stands with at least the
/// confidence that keeps the prior from deciding ([`super::LanguageEvidence::decide`] then
/// gives no language rather than a wrong one). Otherwise the answer among the prior's
/// languages is the detection (not reliable; for a prior of one language, that language).
/// A reliable detection, or one with no prior, is returned as it is.
pub fn weigh_prior(
    detector: &dyn super::LanguageDetector,
    text: &str,
    detection: Option<super::Detection>,
    prior: &[Language],
) -> Option<super::Detection> {
    let Some(d) = detection else {
        return detection;
    };
    if d.reliable || prior.is_empty() || prior == [d.language] {
        return detection;
    }
    let mut among = prior.to_vec();
    if !among.contains(&d.language) {
        among.push(d.language);
    }
    match detector.detect_among(text, &among) {
        Some(x) if !prior.contains(&x.language) && x.confidence >= OVERRULE => {
            Some(super::Detection {
                confidence: d.confidence.max(super::evidence::CONFIDENT),
                ..d
            })
        }
        Some(x) if prior.contains(&x.language) => Some(super::Detection {
            reliable: false,
            ..x
        }),
        // The guess won too narrowly to count.
        _ => match prior {
            [only] => Some(super::Detection {
                language: *only,
                confidence: 0.0,
                reliable: false,
            }),
            _ => None,
        },
    }
}

/// How sure the detector must be, between the prior's language and its own guess, for the
/// guess to overrule the prior. Chosen on the trade-off measured by `examples/language_eval`
/// (`docs/language.md`): a lower bar refuses more texts written in the prior's language,
/// a higher one gives more texts in another language the prior's.
const OVERRULE: f64 = 0.2;

/// The country (ISO 3166-1 alpha-2) of an E.164 number, when its metadata names one.
fn phone_country(e164: &str) -> Option<String> {
    let number = phonenumber::parse(None, e164).ok()?;
    let id = number.country().id()?;
    Some(id.as_ref().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_language_is_known() {
        // Every country the table names maps every code it lists.
        let countries = [
            "NL", "BE", "DE", "CH", "LU", "FR", "CA", "GB", "IN", "PK", "ES", "PT", "IT", "DK",
            "NO", "SE", "FI", "EE", "LV", "LT", "PL", "CZ", "SK", "HU", "RO", "BG", "GR", "TR",
            "RU", "UA", "RS", "HR", "SI", "MK", "IL", "SA", "IR", "TH", "VN", "ID", "JP", "KR",
            "CN", "BD", "GE", "AM", "AZ", "UZ", "PH", "SR",
        ];
        for c in countries {
            assert!(!country_languages(c).is_empty(), "{c}");
        }
        assert_eq!(
            country_languages("BE")
                .iter()
                .map(|l| l.code())
                .collect::<Vec<_>>(),
            ["nl", "fr", "de"]
        );
    }

    /// A detector with fixed answers: the first for all languages, the second among a
    /// restricted set.
    #[derive(Debug)]
    struct Fixed(
        Option<super::super::Detection>,
        Option<super::super::Detection>,
    );

    impl super::super::LanguageDetector for Fixed {
        fn detect(&self, _: &str) -> Option<super::super::Detection> {
            self.0
        }
        fn detect_among(&self, _: &str, _: &[Language]) -> Option<super::super::Detection> {
            self.1
        }
    }

    fn det(c: &str, confidence: f64, reliable: bool) -> Option<super::super::Detection> {
        Some(super::super::Detection {
            language: Language::from_code(c).unwrap(),
            confidence,
            reliable,
        })
    }

    #[test]
    fn the_guess_is_put_against_the_prior() {
        let nl = [Language::from_code("nl").unwrap()];
        let guess = det("af", 0.1, false);
        // The prior's language wins the pair: it is the detection.
        let d = weigh_prior(&Fixed(guess, det("nl", 0.3, false)), "t", guess, &nl).unwrap();
        assert_eq!((d.language.code(), d.reliable), ("nl", false));
        // The guess wins clearly: it stands, confident enough to keep the prior out.
        let d = weigh_prior(&Fixed(guess, det("af", 0.6, false)), "t", guess, &nl).unwrap();
        assert_eq!(d.language.code(), "af");
        assert!(d.confidence >= super::super::evidence::CONFIDENT);
        // Narrowly: the prior's language.
        let d = weigh_prior(&Fixed(guess, det("af", 0.1, false)), "t", guess, &nl).unwrap();
        assert_eq!(d.language.code(), "nl");
        // A reliable detection and no prior are left alone.
        let sure = det("en", 0.9, true);
        assert_eq!(weigh_prior(&Fixed(sure, None), "t", sure, &nl), sure);
        assert_eq!(weigh_prior(&Fixed(guess, None), "t", guess, &[]), guess);
    }

    #[test]
    fn numbers_and_domains_suggest_their_country_s_languages() {
        let codes = |i: Identifier| {
            languages_of(&i)
                .iter()
                .map(|l| l.code())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            codes(Identifier::phone("+49 151 23456789", None).unwrap()),
            ["de"]
        );
        assert_eq!(
            codes(Identifier::whatsapp("+33 6 12 34 56 78", None).unwrap()),
            ["fr"]
        );
        assert_eq!(codes(Identifier::email("a@b.co.uk").unwrap()), ["en"]);
        assert_eq!(codes(Identifier::email("a@firma.de").unwrap()), ["de"]);
        assert_eq!(codes(Identifier::email("a@b.it").unwrap()), ["it"]);
        assert!(codes(Identifier::email("a@b.com").unwrap()).is_empty());
    }
}
