//! Triage invariants: classification never panics on any text, is deterministic, and
//! folding makes case and Latin accents irrelevant.

use proptest::prelude::*;
use throughline::lang::Language;
use throughline::triage::{
    words, Intent, IntentCatalogue, IntentClassifier, KeywordClassifier, Value,
};

fn classifier() -> KeywordClassifier {
    let catalogue = IntentCatalogue::new()
        .with(
            Intent::new("refund", Value::High, Value::High)
                .phrases("fr", &["remboursement", "rembourser"])
                .phrases("en", &["money back"]),
        )
        .unwrap()
        .with(
            Intent::new("status", Value::High, Value::Low)
                .phrases("*", &["tracking"])
                .phrases("es", &["dónde está mi pedido"]),
        )
        .unwrap();
    KeywordClassifier::new(&catalogue)
}

proptest! {
    #[test]
    fn classification_is_total_and_deterministic(text in "\\PC{0,200}", lang in proptest::option::of("[a-z]{2}")) {
        let c = classifier();
        let language = lang.as_deref().and_then(Language::from_code);
        let a = c.classify(&text, language);
        prop_assert_eq!(&a, &c.classify(&text, language));
        if let Some(x) = a {
            prop_assert!((0.0..=1.0).contains(&x.confidence));
        }
    }

    #[test]
    fn case_and_accents_do_not_matter(upper in any::<bool>()) {
        let c = classifier();
        let text = if upper { "JE VEUX UN REMBOURSÉ... REMBOURSEMENT" } else { "je veux un rembourse... remboursement" };
        prop_assert_eq!(c.classify(text, Language::from_code("fr")).map(|x| x.intent), Some("refund".to_string()));
        prop_assert_eq!(words("¿DÓNDE está?"), words("donde ESTA"));
    }
}

#[test]
fn a_spanish_phrase_with_accents_matches_without_them() {
    let c = classifier();
    let got = c
        .classify("hola, donde esta mi pedido??", Language::from_code("es"))
        .unwrap();
    assert_eq!(got.intent, "status");
    assert!(got.confidence > 0.9);
    assert!(c.classify("nothing relevant here", None).is_none());
}
