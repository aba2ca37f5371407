//! Separating a reply's new text from the quoted history and signature below it.
//!
//! The history starts at the first of these lines (everything from there on is quoted):
//!
//! - an attribution line, possibly wrapped over two lines as Gmail does: "On … wrote:",
//!   "Op … schreef …:" / "Op … heeft … het volgende geschreven:", "Am … schrieb …:",
//!   "Le … a écrit :", "El … escribió:", "… kirjoitti …:" (it must end with `:` and hold a
//!   digit or an `@`, as the date or address in every such line does);
//! - a dashed separator such as "-----Original Message-----", "-----Ursprüngliche
//!   Nachricht-----" or "---------- Forwarded message ---------", or Apple's "Begin
//!   forwarded message:";
//! - an Outlook header block: a `From:` line (`Van:`, `Von:`, `De :`, `De:`,
//!   `Lähettäjä:`) followed within four lines by a `Sent:`/`Date:` line (`Verzonden:`,
//!   `Gesendet:`, `Datum:`, `Envoyé :`, `Enviado:`, `Fecha:`, `Lähetetty:`), together with a
//!   `____` rule just above it;
//! - the signature delimiter `-- ` or a mobile signature ("Sent from my iPhone",
//!   "Verstuurd vanaf mijn iPhone", "Von meinem iPhone gesendet", "Envoyé de mon iPhone",
//!   "Enviado desde mi iPhone", "Lähetetty iPhonesta", "Get Outlook for iOS", …);
//! - a block of `>`-quoted lines that runs to the end of the text (quotes with new text
//!   after them, as in bottom-posting or inline replies, stay in the new text).

/// Splits a mail's text into the new text and the quoted history with signature.
///
/// Returns the text unchanged, with no quoted part, when nothing is quoted or when
/// nothing would be left as new text (a bare forward, a mail that is only a signature).
///
/// ```
/// use throughline::channels::email::split_quoted;
/// let text = "Yes, Tuesday works.\n\nOn Mon, 1 Dec 2026 at 10:00, Desk <help@shop.example> wrote:\n> Does Tuesday work?";
/// let (new, quoted) = split_quoted(text);
/// assert_eq!(new, "Yes, Tuesday works.");
/// assert!(quoted.unwrap().ends_with("> Does Tuesday work?"));
/// ```
pub fn split_quoted(text: &str) -> (String, Option<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = history_start(&lines) else {
        return (text.trim().to_string(), None);
    };
    let (new, old) = lines.split_at(start);
    let new = new.join("\n").trim().to_string();
    let old = old.join("\n").trim().to_string();
    if new.is_empty() || old.is_empty() {
        return (text.trim().to_string(), None);
    }
    (new, Some(old))
}

/// The index of the first line of the quoted history or signature.
fn history_start(lines: &[&str]) -> Option<usize> {
    let tail = trailing_quote(lines);
    for i in 0..lines.len() {
        if tail == Some(i) {
            return Some(attribution_above(lines, i));
        }
        let line = lines.get(i).copied().unwrap_or_default();
        let next = lines.get(i + 1).copied();
        if is_attribution(line) || is_separator(line) || is_signature(line) {
            return Some(i);
        }
        if let Some(next) = next {
            let joined = format!("{} {}", line.trim(), next.trim());
            if !line.trim().is_empty() && !is_attribution(next) && is_attribution(&joined) {
                return Some(i);
            }
        }
        if is_header_block(lines, i) {
            return Some(rule_above(lines, i));
        }
    }
    None
}

/// The first line of a `>`-quoted block that runs to the end of the text.
fn trailing_quote(lines: &[&str]) -> Option<usize> {
    let mut start = None;
    for (i, line) in lines.iter().enumerate().rev() {
        let t = line.trim_start();
        if t.starts_with('>') {
            start = Some(i);
        } else if !t.is_empty() {
            break;
        }
    }
    start
}

/// `i`, or the line just above it (a blank line between allowed) when that line ends
/// with `:` and names an address: the attribution of a client in another language
/// ("2026年11月30日(月) 9:00 Shop <help@shop.example>:").
fn attribution_above(lines: &[&str], i: usize) -> usize {
    let above = (1..=2)
        .filter_map(|back| i.checked_sub(back))
        .find(|&j| lines.get(j).is_some_and(|l| !l.trim().is_empty()));
    match above {
        Some(j)
            if lines.get(j).is_some_and(|l| {
                let t = l.trim();
                (t.ends_with(':') || t.ends_with('：')) && t.contains('@')
            }) =>
        {
            j
        }
        _ => i,
    }
}

/// Lower-cased line with Outlook's bold markers and surrounding space removed.
fn plain(line: &str) -> String {
    line.trim().trim_matches('*').trim().to_lowercase()
}

fn is_attribution(line: &str) -> bool {
    let t = plain(line);
    if t.len() > 400 || !t.ends_with(':') || !t.chars().any(|c| c.is_ascii_digit() || c == '@') {
        return false;
    }
    let starts = |p: &str| t.starts_with(p);
    let has = |w: &str| t.contains(w);
    (starts("on ") && has("wrote"))
        || (starts("op ") && (has("schreef") || has("geschreven")))
        || (starts("am ") && has("schrieb"))
        || (starts("le ") && has("a écrit"))
        || (starts("el ") && has("escribió"))
        || has("kirjoitti")
}

/// "-----Original Message-----" and its translations, forwarded-message markers.
fn is_separator(line: &str) -> bool {
    let t = plain(line);
    let dashed = t.len() >= 10
        && t.starts_with("---")
        && t.ends_with("---")
        && t.trim_matches(|c: char| c == '-' || c.is_whitespace())
            .chars()
            .any(char::is_alphabetic);
    dashed
        || [
            "begin forwarded message:",
            "anfang der weitergeleiteten",
            "début du message réexpédié",
            "inicio del mensaje reenviado",
            "begin doorgestuurd bericht",
        ]
        .iter()
        .any(|p| t.starts_with(p))
}

const FROM_LABELS: [&str; 6] = ["from:", "van:", "von:", "de :", "de:", "lähettäjä:"];
const SENT_LABELS: [&str; 12] = [
    "sent:",
    "date:",
    "verzonden:",
    "datum:",
    "gesendet:",
    "envoyé :",
    "envoyé:",
    "date :",
    "enviado:",
    "fecha:",
    "lähetetty:",
    "päivämäärä:",
];

/// A `From:` line followed within four lines by a `Sent:` or `Date:` line.
fn is_header_block(lines: &[&str], i: usize) -> bool {
    let Some(first) = lines.get(i) else {
        return false;
    };
    let first = plain(first);
    if !FROM_LABELS.iter().any(|l| first.starts_with(l)) {
        return false;
    }
    lines
        .iter()
        .skip(i + 1)
        .take(4)
        .any(|l| SENT_LABELS.iter().any(|s| plain(l).starts_with(s)))
}

/// `i`, or the line of a `____` rule just above it (blank lines between allowed).
fn rule_above(lines: &[&str], i: usize) -> usize {
    let mut j = i;
    while j > 0 {
        j -= 1;
        let t = lines.get(j).map(|l| l.trim()).unwrap_or_default();
        if t.is_empty() {
            continue;
        }
        let rule = t.len() >= 10 && t.chars().all(|c| c == '_' || c == '-');
        return if rule { j } else { i };
    }
    i
}

const MOBILE_SIGNATURES: [&str; 14] = [
    "sent from my ",
    "sent from outlook",
    "sent from mail for",
    "sent from yahoo mail",
    "get outlook for ",
    "verstuurd vanaf mijn ",
    "verzonden vanaf mijn ",
    "von meinem ",
    "gesendet von ",
    "envoyé de mon ",
    "envoyé depuis ",
    "enviado desde mi ",
    "enviado desde ",
    "lähetetty ",
];

fn is_signature(line: &str) -> bool {
    if line.trim_end() == "--" {
        return true;
    }
    let t = plain(line);
    // "Lähetetty:" is an Outlook header label, "Lähetetty iPhonesta" a signature.
    t.len() <= 80 && !t.contains(':') && MOBILE_SIGNATURES.iter().any(|p| t.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> (String, String) {
        let (new, quoted) = split_quoted(text);
        (new, quoted.unwrap_or_default())
    }

    #[test]
    fn attribution_lines_in_six_languages() {
        for attribution in [
            "On Mon, Dec 1, 2026 at 10:00 AM Help <help@shop.example> wrote:",
            "On 1 Dec 2026, at 10:00, Help <help@shop.example> wrote:",
            "Op ma 1 dec 2026 om 10:00 schreef Help <help@shop.example>:",
            "Op 1 dec 2026, om 10:00 heeft Help <help@shop.example> het volgende geschreven:",
            "Am Mo., 1. Dez. 2026 um 10:00 Uhr schrieb Help <help@shop.example>:",
            "Le lun. 1 déc. 2026 à 10:00, Help <help@shop.example> a écrit :",
            "El lun, 1 dic 2026 a las 10:00, Help (<help@shop.example>) escribió:",
            "ma 1.12.2026 klo 10.00 Help (help@shop.example) kirjoitti:",
            "Help <help@shop.example> kirjoitti 1.12.2026 kello 10.00:",
        ] {
            let text = format!("New text.\n\n{attribution}\n> old text");
            let (new, quoted) = split(&text);
            assert_eq!(new, "New text.", "{attribution}");
            assert!(quoted.starts_with(attribution), "{attribution}");
        }
    }

    #[test]
    fn a_wrapped_attribution_is_found_on_its_first_line() {
        let text = "Thanks!\n\nOn Mon, Dec 1, 2026 at 10:00 AM Shop Help Desk <\nhelp@shop.example> wrote:\n\n> old";
        let (new, quoted) = split(text);
        assert_eq!(new, "Thanks!");
        assert!(quoted.starts_with("On Mon"));
    }

    #[test]
    fn outlook_blocks_in_six_languages() {
        for (from, sent) in [
            (
                "From: Help <help@shop.example>",
                "Sent: Monday, December 1, 2026 10:00 AM",
            ),
            (
                "Van: Help <help@shop.example>",
                "Verzonden: maandag 1 december 2026 10:00",
            ),
            (
                "Von: Help <help@shop.example>",
                "Gesendet: Montag, 1. Dezember 2026 10:00",
            ),
            (
                "De : Help <help@shop.example>",
                "Envoyé : lundi 1 décembre 2026 10:00",
            ),
            (
                "De: Help <help@shop.example>",
                "Enviado: lunes, 1 de diciembre de 2026 10:00",
            ),
            (
                "Lähettäjä: Help <help@shop.example>",
                "Lähetetty: maanantai 1. joulukuuta 2026 10.00",
            ),
        ] {
            let text =
                format!("New.\n\n________________________________\n{from}\n{sent}\nTo: Ana\n\nold");
            let (new, quoted) = split(&text);
            assert_eq!(new, "New.", "{from}");
            assert!(quoted.starts_with("_____"), "{from}");
            assert!(quoted.contains(sent));
        }
        let (new, quoted) = split("New.\n\n-----Original Message-----\nFrom: a\nSent: b\n\nold");
        assert_eq!(new, "New.");
        assert!(quoted.starts_with("-----Original"));
    }

    #[test]
    fn signatures_are_split_off() {
        let (new, quoted) = split("Hi,\nthanks.\n-- \nAna Jansen\n+31 6 1234 5678");
        assert_eq!(new, "Hi,\nthanks.");
        assert_eq!(quoted, "-- \nAna Jansen\n+31 6 1234 5678");
        for sig in [
            "Sent from my iPhone",
            "Verstuurd vanaf mijn iPhone",
            "Von meinem iPhone gesendet",
            "Envoyé de mon iPhone",
            "Enviado desde mi iPhone",
            "Lähetetty iPhonesta",
        ] {
            let (new, quoted) = split(&format!("Ok\n\n{sig}"));
            assert_eq!((new.as_str(), quoted.as_str()), ("Ok", sig));
        }
    }

    #[test]
    fn only_a_trailing_quote_block_is_history() {
        let (new, quoted) = split("> Does Tuesday work?\nYes it does.");
        assert_eq!(new, "> Does Tuesday work?\nYes it does.");
        assert!(quoted.is_empty());
        let (new, quoted) = split("Yes.\n\n> Does Tuesday work?\n>\n> Thanks");
        assert_eq!(new, "Yes.");
        assert_eq!(quoted, "> Does Tuesday work?\n>\n> Thanks");
    }

    #[test]
    fn an_unknown_attribution_right_above_the_quote_goes_with_it() {
        let (new, quoted) =
            split("はい。\n\n2026年11月30日(月) 9:00 Shop <help@shop.example>:\n> 注文\n");
        assert_eq!(new, "はい。");
        assert!(quoted.starts_with("2026年"));
        let (new, _) = split("Answers below:\n> q1\n");
        assert_eq!(new, "Answers below:");
    }

    #[test]
    fn text_without_history_is_kept_whole() {
        let (new, quoted) = split_quoted("  On my way: 2 parcels.\nAna ");
        assert_eq!(new, "On my way: 2 parcels.\nAna");
        assert!(quoted.is_none());
        // Nothing would be left: the whole text stays new.
        let (new, quoted) = split_quoted("-----Original Message-----\nFrom: a\nSent: b");
        assert!(new.starts_with("-----Original"));
        assert!(quoted.is_none());
    }
}
