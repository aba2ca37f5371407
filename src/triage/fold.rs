//! Case and accent folding, and word tokens (unicode-segmentation).

use unicode_segmentation::UnicodeSegmentation;

/// The base letter of a Latin letter with a diacritic (lower case), or the letter itself.
fn base(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ĥ' | 'ħ' => 'h',
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ĵ' => 'j',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => 's',
        'ţ' | 'ť' | 'ŧ' | 'ț' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ŵ' => 'w',
        'ý' | 'ÿ' | 'ŷ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

/// The folded words of `text`: Unicode word boundaries, lower case, Latin diacritics
/// removed ("Remboursé" → "rembourse", "ß" → "ss"). Never panics.
pub fn words(text: &str) -> Vec<String> {
    text.unicode_words()
        .map(|w| {
            let mut out = String::with_capacity(w.len());
            for c in w.chars().flat_map(char::to_lowercase) {
                match c {
                    'ß' => out.push_str("ss"),
                    'æ' => out.push_str("ae"),
                    'œ' => out.push_str("oe"),
                    c => out.push(base(c)),
                }
            }
            out
        })
        .collect()
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
}
