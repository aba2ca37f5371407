//! Text that fits every channel: grapheme-safe truncation and splitting, SMS encoding and
//! segment counts (GSM-7 with its extension table, UCS-2), an outbound renderer per
//! channel, and hygiene for names and handles.
//!
//! Lengths are counted in characters (Unicode scalar values), as channel limits are, but
//! cuts only ever fall between grapheme clusters: a family emoji, a flag, a Hindi conjunct
//! or a letter with combining marks is never split.

use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use crate::channel::{Channel, ChannelProfile};
use crate::error::{Error, Result};

/// Cuts `text` to at most `max_chars` characters without splitting a grapheme cluster,
/// preferring a word boundary, and marks the cut with `…` (which counts toward the limit).
/// Text that fits is returned unchanged.
///
/// ```
/// use throughline::text::truncate;
/// assert_eq!(truncate("Where is my parcel?", 12), "Where is my…");
/// assert_eq!(truncate("👨‍👩‍👧‍👦👨‍👩‍👧‍👦", 8), "👨‍👩‍👧‍👦…"); // 7 characters + …
/// assert_eq!(truncate("short", 10), "short");
/// ```
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    if max_chars == 0 {
        return String::new();
    }
    let end = cut_point(text, max_chars - 1, true);
    format!("{}…", text[..end].trim_end())
}

/// The byte index of the best cut at most `budget` characters into `text`: after the last
/// whitespace that fits when `prefer_words` and there is one, else after the last whole
/// grapheme that fits (0 when not even one fits).
fn cut_point(text: &str, budget: usize, prefer_words: bool) -> usize {
    let mut used = 0usize;
    let mut last_grapheme = 0usize;
    let mut last_space = None;
    for (i, g) in text.grapheme_indices(true) {
        let n = g.chars().count();
        if used + n > budget {
            if prefer_words && g.chars().all(char::is_whitespace) {
                // The cut falls just before a space: a word boundary already.
                return last_grapheme;
            }
            break;
        }
        used += n;
        last_grapheme = i + g.len();
        if g.chars().all(char::is_whitespace) {
            last_space = Some(i + g.len());
        }
    }
    match last_space {
        Some(s) if prefer_words && s > 0 && s == last_grapheme => s,
        Some(s) if prefer_words && s > 0 && s * 2 >= last_grapheme => s,
        _ => last_grapheme,
    }
}

/// Splits `text` into pieces of at most `max_chars` characters each, cutting after
/// whitespace where possible and never inside a grapheme cluster. The pieces concatenate
/// to exactly `text`.
///
/// # Errors
///
/// [`Error::Invalid`] when `max_chars` is zero or a single grapheme cluster is longer than
/// `max_chars` (it cannot be carried without splitting it).
///
/// ```
/// use throughline::text::split;
/// let parts = split("one two three four", 8)?;
/// assert_eq!(parts, ["one two ", "three ", "four"]);
/// assert_eq!(parts.concat(), "one two three four");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn split(text: &str, max_chars: usize) -> Result<Vec<&str>> {
    if max_chars == 0 {
        return Err(Error::invalid("limit", "a limit of zero characters"));
    }
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.chars().count() > max_chars {
        let cut = cut_point(rest, max_chars, true);
        if cut == 0 {
            let g = rest.graphemes(true).next().unwrap_or("");
            return Err(Error::invalid(
                "body",
                format!(
                    "a single character cluster of {} characters exceeds the limit of {max_chars}",
                    g.chars().count()
                ),
            ));
        }
        parts.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(rest);
    }
    Ok(parts)
}

/// The encoding an SMS is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsEncoding {
    /// The GSM 03.38 7-bit alphabet (160 characters, 153 per part when concatenated).
    Gsm7,
    /// UCS-2 (70 UTF-16 units, 67 per part).
    Ucs2,
}

/// What an SMS costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SmsInfo {
    /// The encoding.
    pub encoding: SmsEncoding,
    /// Septets (GSM-7; extension characters count two) or UTF-16 units (UCS-2).
    pub units: usize,
    /// Segments (messages billed).
    pub segments: usize,
}

const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION: &str = "\u{c}^{}\\[~]|€";

fn gsm_cost(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The encoding, size and segment count of `text` as an SMS. A part boundary never splits
/// an escaped GSM character or a UTF-16 surrogate pair.
///
/// ```
/// use throughline::text::{sms_info, SmsEncoding};
/// assert_eq!(sms_info(&"a".repeat(160)).segments, 1);
/// assert_eq!(sms_info(&"a".repeat(161)).segments, 2);
/// let euro = sms_info("€5");
/// assert_eq!((euro.encoding, euro.units), (SmsEncoding::Gsm7, 3));
/// assert_eq!(sms_info("Bedankt 🙂").encoding, SmsEncoding::Ucs2);
/// ```
pub fn sms_info(text: &str) -> SmsInfo {
    let gsm: Option<Vec<usize>> = text.chars().map(gsm_cost).collect();
    let (encoding, costs, single, per_part) = match gsm {
        Some(c) => (SmsEncoding::Gsm7, c, 160, 153),
        None => (
            SmsEncoding::Ucs2,
            text.chars().map(char::len_utf16).collect(),
            70,
            67,
        ),
    };
    let units: usize = costs.iter().sum();
    let segments = if units <= single {
        1
    } else {
        let (mut segs, mut fill) = (1usize, 0usize);
        for c in costs {
            if fill + c > per_part {
                segs += 1;
                fill = 0;
            }
            fill += c;
        }
        segs
    };
    SmsInfo {
        encoding,
        units,
        segments,
    }
}

/// How many SMS segments one outbound text may cost before it is refused.
pub const MAX_SMS_SEGMENTS: usize = 10;

/// How many parts a reply may be split into on a channel with a text limit.
pub const MAX_PARTS: usize = 10;

/// Renders an outbound reply into the messages `channel` accepts: one part when it fits,
/// else pieces cut at word boundaries, each ending with a continuation marker ` (1/3)`.
/// SMS is checked in segments as well.
///
/// # Errors
///
/// [`Error::Invalid`] when the reply needs more than [`MAX_PARTS`] parts, or more than
/// [`MAX_SMS_SEGMENTS`] SMS segments, or holds a character cluster longer than the limit.
///
/// ```
/// use throughline::{Channel, text::render};
/// let parts = render(&"word ".repeat(80), &Channel::Twitter, &Channel::Twitter.profile())?;
/// assert_eq!(parts.len(), 2);
/// assert!(parts[0].ends_with(" (1/2)") && parts[0].chars().count() <= 280);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render(body: &str, channel: &Channel, profile: &ChannelProfile) -> Result<Vec<String>> {
    if *channel == Channel::Sms {
        // One concatenated SMS by default; a host's own profile (`set_profile`) with a
        // text limit splits into several SMS of at most that many characters.
        let host_limit = profile
            .text_limit
            .filter(|_| *profile != Channel::Sms.profile());
        let parts = match host_limit {
            Some(limit) => split_to_limit(body, channel, limit)?,
            None => vec![body.to_string()],
        };
        for part in &parts {
            let info = sms_info(part);
            if info.segments > MAX_SMS_SEGMENTS {
                return Err(Error::invalid(
                    "body",
                    format!(
                        "{} SMS segments ({:?}); at most {MAX_SMS_SEGMENTS} are sent",
                        info.segments, info.encoding
                    ),
                ));
            }
        }
        return Ok(parts);
    }
    match profile.text_limit {
        Some(limit) => split_to_limit(body, channel, limit),
        None => Ok(vec![body.to_string()]),
    }
}

/// `body` as one part when it fits `limit` characters, else pieces cut at word
/// boundaries with continuation markers.
fn split_to_limit(body: &str, channel: &Channel, limit: usize) -> Result<Vec<String>> {
    if body.chars().count() <= limit {
        return Ok(vec![body.to_string()]);
    }
    // Reserve room for the widest marker, " (10/10)".
    let marker = format!(" ({MAX_PARTS}/{MAX_PARTS})").chars().count();
    let budget = limit
        .checked_sub(marker)
        .filter(|b| *b > 0)
        .ok_or_else(|| {
            Error::invalid(
                "body",
                format!("{channel} carries {limit} characters, too few to split into parts"),
            )
        })?;
    let pieces = split(body, budget)?;
    if pieces.len() > MAX_PARTS {
        return Err(Error::invalid(
            "body",
            format!(
                "{} characters would take {} parts on {channel} (at most {MAX_PARTS} of {limit} characters)",
                body.chars().count(),
                pieces.len()
            ),
        ));
    }
    let n = pieces.len();
    Ok(pieces
        .into_iter()
        .enumerate()
        .map(|(i, p)| format!("{} ({}/{n})", p.trim_end(), i + 1))
        .collect())
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

/// A display name or handle with control characters and bidirectional overrides removed
/// and whitespace collapsed (names and handles only; message bodies are never altered,
/// see [`inspect_body`]).
///
/// ```
/// use throughline::text::sanitize_name;
/// assert_eq!(sanitize_name(" Ana\u{202E}tset \n Pereira "), "Anatset Pereira");
/// ```
pub fn sanitize_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a message body holds that an agent should know about; the body itself is kept as
/// received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BodyCheck {
    /// The body with control characters (except newline and tab) and bidirectional
    /// overrides removed, for display.
    pub sanitized: String,
    /// How many control characters were found.
    pub control_chars: usize,
    /// How many bidirectional override or isolate characters were found.
    pub bidi_controls: usize,
}

/// Inspects a body without changing it: a sanitised view for display, and counts of what
/// was flagged.
pub fn inspect_body(body: &str) -> BodyCheck {
    let (mut control_chars, mut bidi_controls) = (0, 0);
    let sanitized = body
        .chars()
        .filter(|&c| {
            if is_bidi_control(c) {
                bidi_controls += 1;
                false
            } else if c.is_control() && c != '\n' && c != '\t' {
                control_chars += 1;
                false
            } else {
                true
            }
        })
        .collect();
    BodyCheck {
        sanitized,
        control_chars,
        bidi_controls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_vectors() {
        let g = |s: &str| sms_info(s);
        assert_eq!((g("").segments, g("").units), (1, 0));
        assert_eq!(
            g(&"a".repeat(160)),
            SmsInfo {
                encoding: SmsEncoding::Gsm7,
                units: 160,
                segments: 1
            }
        );
        assert_eq!(g(&"a".repeat(161)).segments, 2);
        assert_eq!(g(&"a".repeat(306)).segments, 2);
        assert_eq!(g(&"a".repeat(307)).segments, 3);
        assert_eq!(g("[^]").units, 6, "extension characters count two");
        assert_eq!(g(&"€".repeat(80)).units, 160);
        assert_eq!(g(&"€".repeat(80)).segments, 1);
        assert_eq!(g(&"€".repeat(81)).segments, 2);
        // An escape pair is never split: 152 plain + one € does not fit the first part.
        assert_eq!(
            g(&format!("{}€{}", "a".repeat(152), "a".repeat(10))).segments,
            2
        );
        assert_eq!(g(&"é".repeat(70)).encoding, SmsEncoding::Gsm7);
        assert_eq!(
            g(&"ç".repeat(70)),
            SmsInfo {
                encoding: SmsEncoding::Ucs2,
                units: 70,
                segments: 1
            }
        );
        assert_eq!(g(&"ç".repeat(71)).segments, 2);
        assert_eq!(g(&"ç".repeat(134)).segments, 2);
        assert_eq!(g(&"ç".repeat(135)).segments, 3);
        // Emoji are surrogate pairs: two units each, never split across parts.
        assert_eq!(g("🙂").units, 2);
        assert_eq!(g(&"🙂".repeat(35)).segments, 1);
        assert_eq!(g(&format!("{}🙂", "ç".repeat(66))).segments, 1);
        assert_eq!(
            g(&format!("{}🙂{}", "ç".repeat(66), "ç".repeat(10))).segments,
            2
        );
    }

    #[test]
    fn graphemes_are_never_split() {
        let family = "👨‍👩‍👧‍👦"; // 7 chars, one grapheme
        let flags = "🇳🇱🇯🇵"; // 4 chars, two graphemes
        let hindi = "क्षत्रिय"; // conjuncts
        let zalgo = "Z̷̢̛a̴̡l̵g̶o̷";
        for text in [family, flags, hindi, zalgo] {
            for limit in 1..=text.chars().count() {
                if let Ok(parts) = split(text, limit) {
                    assert_eq!(parts.concat(), text);
                    for p in &parts {
                        assert!(p.chars().count() <= limit);
                        // Every part is made of whole graphemes of the original.
                        assert!(text.graphemes(true).any(|g| p.starts_with(g)) || p.is_empty());
                    }
                }
            }
        }
        assert!(
            split(family, 6).is_err(),
            "a 7-character cluster cannot fit 6"
        );
        assert_eq!(split(flags, 2).unwrap(), ["🇳🇱", "🇯🇵"]);
        assert_eq!(truncate(flags, 3), "🇳🇱…");
    }

    #[test]
    fn per_channel_rendering() {
        let long = "Thanks for waiting. ".repeat(30); // 600 characters
        let x = render(&long, &Channel::Twitter, &Channel::Twitter.profile()).unwrap();
        assert_eq!(x.len(), 3);
        assert!(x.iter().all(|p| p.chars().count() <= 280));
        assert!(x[2].ends_with("(3/3)"));
        assert_eq!(
            render(&long, &Channel::Email, &Channel::Email.profile())
                .unwrap()
                .len(),
            1
        );
        assert!(render(
            &"a".repeat(5000),
            &Channel::Twitter,
            &Channel::Twitter.profile()
        )
        .is_err());
        assert!(render(&"a".repeat(1600), &Channel::Sms, &Channel::Sms.profile()).is_err());
        assert_eq!(
            render("Hi", &Channel::Sms, &Channel::Sms.profile()).unwrap(),
            ["Hi"]
        );
    }

    #[test]
    fn hygiene_keeps_bodies() {
        let c = inspect_body("pay to \u{202E}evil\u{202C} now\u{7}");
        assert_eq!((c.bidi_controls, c.control_chars), (2, 1));
        assert_eq!(c.sanitized, "pay to evil now");
    }
}
