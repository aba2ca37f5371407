//! Orthography as a second opinion: the letters each language's alphabet adds to the
//! basic Latin or the common Cyrillic letters.
//!
//! A short text the trigram model is unsure about is still settled when it contains a
//! letter that, among the languages allowed, only one alphabet has ("ł" is Polish, "ř"
//! Czech, "ß" German, "ї" Ukrainian, "ы" Russian or Belarusian) and every other special
//! letter of the text belongs to that alphabet too. The inventories below are the
//! languages' standard orthographies, generous with letters that occur in common
//! loanwords (an English "café"), so that a letter counts as distinctive only when it
//! really is. Languages of other scripts have no inventory: the rule never applies to them.

use whatlang::Lang;

/// The letters (lower case) that `lang` writes beyond `a`-`z` (Latin script) or beyond
/// the Cyrillic letters all Cyrillic alphabets share; `None` for other scripts.
fn inventory(lang: Lang) -> Option<&'static str> {
    use Lang::*;
    Some(match lang {
        // Latin script.
        Eng => "éèêëïöüçà",
        Spa => "áéíóúñü",
        Por => "áâãàçéêíóôõúü",
        Ita => "àèéìíîòóùú",
        Fra => "àâæçéèêëîïôœùûüÿ",
        Deu => "äöüßé",
        Nld => "áàâäéèêëíïóòôöúü",
        Pol => "ąćęłńóśźż",
        Ces => "áčďéěíňóřšťúůýž",
        Slk => "áäčďéíĺľňóôŕšťúýž",
        Slv => "čšžćđ",
        Hrv => "čćđšž",
        Hun => "áéíóöőúüű",
        Ron => "ăâîșşțţ",
        Tur => "âçğıîöşûü",
        Aze => "çəğıöşü",
        Tuk => "äçňöşüýž",
        Swe => "åäöéü",
        Dan => "æøåéü",
        Nob => "æøåéèêóòôü",
        Fin => "äöåšž",
        Est => "äõöüšž",
        Lit => "ąčęėįšųūž",
        Lav => "āčēģīķļņšūž",
        Epo => "ĉĝĥĵŝŭ",
        Cat => "àçéèíïŀòóúü",
        Afr => "áéèêëíîïóôöúûüŉ",
        Cym => "âêîôûŵŷäëïöüáéíóúàèìòùẁỳ",
        Lat => "āēīōūæœ",
        Aka => "ɛɔ",
        Tgl => "ñáéíóú",
        Ind | Jav => "éè",
        Uzb | Zul | Sna => "",
        Vie => "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ",
        // Cyrillic script: letters beyond а б в г д е ж з к л м н о п р с т у ф х ц ч ш.
        Rus => "ёийщъыьэюя",
        Ukr => "иіїйщьєюяґ",
        Bel => "ёійўыьэюя",
        Bul => "ийщъьюяѝ",
        Srp => "ђијљњћџ",
        Mkd => "ѓѕијљњќџѐѝ",
        _ => return None,
    })
}

/// Whether `lang` is written in Cyrillic (the inventories' other script is Latin).
fn is_cyrillic(lang: Lang) -> bool {
    matches!(
        lang,
        Lang::Rus | Lang::Ukr | Lang::Bel | Lang::Bul | Lang::Srp | Lang::Mkd
    )
}

/// Whether `c` (lower case) is a letter the inventories speak about in its script.
fn is_special(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    if ('\u{0400}'..='\u{04FF}').contains(&c) {
        return !"абвгдежзклмнопрстуфхцчш".contains(c);
    }
    (c.is_alphabetic() && c < '\u{0370}') || ('\u{1E00}'..='\u{1EFF}').contains(&c)
}

/// Whether the text's special letters settle `lang` among `candidates`: every special
/// letter is in `lang`'s alphabet, and at least one is in no other candidate's alphabet of
/// the same script (languages of other scripts have no inventory and cannot claim it).
pub(super) fn settles(text: &str, lang: Lang, candidates: &[Lang]) -> bool {
    let Some(own) = inventory(lang) else {
        return false;
    };
    let cyrillic_text = is_cyrillic(lang);
    let mut distinctive = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if !is_special(c) {
            continue;
        }
        let c_cyrillic = ('\u{0400}'..='\u{04FF}').contains(&c);
        if c_cyrillic != cyrillic_text || !own.contains(c) {
            return false;
        }
        if distinctive {
            continue;
        }
        distinctive = candidates.iter().all(|&other| {
            other == lang
                || inventory(other).is_none()
                || is_cyrillic(other) != cyrillic_text
                || inventory(other).is_some_and(|inv| !inv.contains(c))
        });
    }
    distinctive
}

#[cfg(test)]
mod tests {
    use super::*;
    use whatlang::Lang::*;

    #[test]
    fn distinctive_letters_settle_only_their_language() {
        let all = Lang::all();
        assert!(settles("gdzie jest moja paczka, złożyłem", Pol, all));
        assert!(settles("kde je můj balík", Ces, all));
        assert!(settles("straße", Deu, all));
        assert!(
            !settles("schön", Deu, all),
            "ö is also Swedish, Finnish, Turkish..."
        );
        assert!(
            !settles("schön", Deu, &[Deu, Eng]),
            "ö occurs in English loanwords"
        );
        assert!(settles("schön", Deu, &[Deu, Fra]));
        assert!(settles("де моя посилка? дякую, ї", Ukr, all));
        assert!(!settles("где моя посылка", Ukr, all), "ы is not Ukrainian");
        assert!(settles("где моя посылка", Rus, &[Rus, Ukr]));
        assert!(
            !settles("where is my parcel", Eng, all),
            "no special letter"
        );
        assert!(!settles("żółć", Ces, all), "Polish letters refute Czech");
        assert!(
            !settles("مرحبا", Ara, all),
            "other scripts have no inventory"
        );
    }
}
