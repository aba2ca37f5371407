//! Splitting never loses or reorders text and never cuts a grapheme cluster.

use proptest::prelude::*;
use throughline::text::{render, sms_info, split, SmsEncoding};
use throughline::Channel;
use unicode_segmentation::UnicodeSegmentation;

fn texts() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("word ".to_string()),
        Just("👨‍👩‍👧‍👦".to_string()),
        Just("🇳🇱".to_string()),
        Just("क्षत्रिय ".to_string()),
        Just("e\u{301}".to_string()),
        Just("\n".to_string()),
        Just("€[".to_string()),
        "[a-zA-Z ]{1,12}",
        "\\PC{1,4}",
    ];
    proptest::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn split_then_join_is_the_original(text in texts(), limit in 8usize..300) {
        let parts = split(&text, limit).unwrap();
        prop_assert_eq!(parts.concat(), text.clone());
        let boundaries: std::collections::HashSet<usize> =
            text.grapheme_indices(true).map(|(i, _)| i).chain(std::iter::once(text.len())).collect();
        let mut at = 0;
        for p in &parts {
            prop_assert!(p.chars().count() <= limit);
            at += p.len();
            prop_assert!(boundaries.contains(&at), "cut inside a grapheme cluster at byte {}", at);
        }
    }

    #[test]
    fn rendered_parts_fit_and_carry_everything(text in texts()) {
        if let Ok(parts) = render(&text, &Channel::Twitter, &Channel::Twitter.profile()) {
            for p in &parts {
                prop_assert!(p.chars().count() <= 280);
            }
            let words = |s: &str| s.split_whitespace().filter(|w| !w.starts_with('(')).collect::<String>();
            if parts.len() > 1 {
                prop_assert_eq!(parts.iter().map(|p| words(p)).collect::<String>(), words(&text));
            }
        }
    }

    #[test]
    fn sms_segments_cover_the_units(text in texts()) {
        let info = sms_info(&text);
        let per = match info.encoding { SmsEncoding::Gsm7 => 153, SmsEncoding::Ucs2 => 67 };
        prop_assert!(info.segments * per >= info.units || info.segments == 1);
    }
}
