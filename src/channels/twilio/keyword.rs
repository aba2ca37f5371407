//! SMS opt-out, opt-in and help keywords (Twilio's standard set).

/// What a keyword message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Keyword {
    /// Stop sending: STOP, STOPALL, STOP ALL, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT, REVOKE.
    OptOut,
    /// Start again: START, YES, UNSTOP, OPTIN.
    OptIn,
    /// Asks for help: HELP, INFO.
    Help,
}

const OPT_OUT: [&str; 9] = [
    "STOP",
    "STOPALL",
    "STOP ALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "REVOKE",
];
const OPT_IN: [&str; 4] = ["START", "YES", "UNSTOP", "OPTIN"];
const HELP: [&str; 2] = ["HELP", "INFO"];

/// The keyword `body` consists of, if it is one of Twilio's standard opt-out, opt-in or
/// help keywords: compared without regard to case, with surrounding whitespace and
/// punctuation ignored (and runs of whitespace inside read as one space). Only a body that
/// is the keyword as a whole counts: "stop sending me ads" is a message, not an opt-out.
///
/// ```
/// use throughline::channels::twilio::{keyword, Keyword};
/// assert_eq!(keyword(" Stop! "), Some(Keyword::OptOut));
/// assert_eq!(keyword("stop   all"), Some(Keyword::OptOut));
/// assert_eq!(keyword("UNSTOP"), Some(Keyword::OptIn));
/// assert_eq!(keyword("help?"), Some(Keyword::Help));
/// assert_eq!(keyword("please stop"), None);
/// ```
pub fn keyword(body: &str) -> Option<Keyword> {
    let core = body.trim_matches(|c: char| c.is_whitespace() || is_punctuation(c));
    // Longest keyword is 11 bytes; anything much longer is a message.
    if core.is_empty() || core.len() > 32 {
        return None;
    }
    let words: Vec<&str> = core.split_whitespace().collect();
    let norm = words.join(" ").to_ascii_uppercase();
    let is = |set: &[&str]| set.iter().any(|k| *k == norm);
    if is(&OPT_OUT) {
        Some(Keyword::OptOut)
    } else if is(&OPT_IN) {
        Some(Keyword::OptIn)
    } else if is(&HELP) {
        Some(Keyword::Help)
    } else {
        None
    }
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '¡' | '¿'
                | '…'
                | '‘'
                | '’'
                | '“'
                | '”'
                | '«'
                | '»'
                | '。'
                | '！'
                | '？'
                | '，'
                | '、'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_keyword_in_any_case() {
        for k in OPT_OUT {
            assert_eq!(keyword(k), Some(Keyword::OptOut), "{k}");
            assert_eq!(keyword(&k.to_lowercase()), Some(Keyword::OptOut), "{k}");
        }
        for k in OPT_IN {
            assert_eq!(keyword(&format!("  {k}.\n")), Some(Keyword::OptIn), "{k}");
        }
        for k in HELP {
            assert_eq!(keyword(&format!("¿{k}?")), Some(Keyword::Help), "{k}");
        }
    }

    #[test]
    fn only_a_whole_body_counts() {
        for body in [
            "",
            "!!!",
            "stop it",
            "I want to stop",
            "stopp",
            "st op",
            "ENDING",
            "yes please",
        ] {
            assert_eq!(keyword(body), None, "{body:?}");
        }
    }

    #[test]
    fn non_ascii_letters_never_match() {
        // `to_ascii_uppercase` leaves these alone, so no Unicode case folding surprises.
        assert_eq!(keyword("ſtop"), None);
        assert_eq!(keyword("ＳＴＯＰ"), None);
    }
}
