//! Case and accent folding, and word tokens (unicode-segmentation).
//!
//! Accents are removed by canonical decomposition (unicode-normalization): a letter
//! decomposes into its base and combining marks, the marks of the combining-diacritics
//! blocks are dropped, and the rest is composed again — so Latin, Greek, Cyrillic and
//! Vietnamese lose their accents, while the vowel signs of Indic, Arabic or Hebrew script
//! and Japanese voicing marks are kept. Letters with a stroke, which do not decompose,
//! and the ligatures are mapped by hand.

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// Whether `c` is a combining diacritical mark (the blocks accents come from).
fn is_diacritic(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// Letters that do not decompose, and ligatures, folded to their base letters.
fn by_hand(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'ł' | 'ŀ' => "l",
        'đ' => "d",
        'ħ' => "h",
        'ı' => "i",
        'ŧ' => "t",
        _ => return None,
    })
}

/// One word, lower case and without accents.
fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars().flat_map(char::to_lowercase) {
        if c.is_ascii() {
            out.push(c);
        } else if let Some(s) = by_hand(c) {
            out.push_str(s);
        } else {
            out.extend(std::iter::once(c).nfd().filter(|m| !is_diacritic(*m)));
        }
    }
    if out.is_ascii() {
        out
    } else {
        out.nfc().collect()
    }
}

/// The folded words of `text`: Unicode word boundaries, lower case, diacritics removed
/// ("Remboursé" → "rembourse", "ß" → "ss", "hoàn tiền" → "hoan tien"). Never panics.
pub fn words(text: &str) -> Vec<String> {
    text.unicode_words().map(fold).collect()
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(words("Remboursé, SVP!"), vec!["rembourse", "svp"]);
        assert_eq!(words("Straße über"), vec!["strasse", "uber"]);
        assert_eq!(
            words("¿Dónde está mi pedido?"),
            vec!["donde", "esta", "mi", "pedido"]
        );
        assert_eq!(words("注文はどこ"), words("注文はどこ"));
        assert!(words("").is_empty());
    }

    #[test]
    fn folds_the_accents_a_table_missed_and_keeps_other_scripts_marks() {
        // Vietnamese stacks two marks on one vowel; Polish, Czech, Turkish, Icelandic.
        assert_eq!(
            words("Tôi muốn hoàn tiền"),
            vec!["toi", "muon", "hoan", "tien"]
        );
        assert_eq!(
            words("Zwrot pieniędzy, Vrácení peněz"),
            vec!["zwrot", "pieniedzy", "vraceni", "penez"]
        );
        assert_eq!(
            words("İade ŞİMDİ Ísland Đà Nẵng Łódź"),
            vec!["iade", "simdi", "island", "da", "nang", "lodz"]
        );
        // Greek and Cyrillic accents go; the letters stay.
        assert_eq!(words("Επιστροφή χρημάτων"), vec!["επιστροφη", "χρηματων"]);
        assert_eq!(words("Ёлка й"), vec!["елка", "и"]);
        // Hindi vowel signs and Japanese voiced kana are letters, not accents: unchanged.
        assert_eq!(words("धनवापसी"), vec!["धनवापसी"]);
        assert_eq!(
            words("ござい"),
            vec!["ご", "ざ", "い"],
            "voiced kana stay voiced"
        );
    }
}
