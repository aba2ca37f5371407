//! What WhatsApp and Messenger share, both being Meta platforms: the
//! `X-Hub-Signature-256` check of a webhook's raw body, the `GET` verification handshake
//! that subscribes a webhook URL, and the 24-hour customer-service window.
//!
//! ```
//! use hmac::{Hmac, KeyInit, Mac};
//! use sha2::Sha256;
//! use throughline::channels::meta;
//!
//! // Meta signs the raw body with the app secret: `X-Hub-Signature-256: sha256=<hex>`.
//! let body = br#"{"object":"page","entry":[]}"#;
//! let mut mac = Hmac::<Sha256>::new_from_slice(b"app-secret")?;
//! mac.update(body);
//! let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
//! meta::verify_signature(body, &format!("sha256={hex}"), "app-secret")?;
//! assert!(meta::verify_signature(body, &format!("sha256={hex}"), "other-secret").is_err());
//!
//! // The subscription handshake answers the challenge when the token matches.
//! let query = [("hub.mode", "subscribe"), ("hub.verify_token", "tok"), ("hub.challenge", "1158201444")];
//! assert_eq!(meta::handshake(&query, "tok")?, "1158201444");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::channels::Request;
use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// The customer-service window: a free-form reply may be sent until 24 hours after the
/// customer's latest message (WhatsApp and Messenger alike).
pub const WINDOW: TimeDelta = TimeDelta::hours(24);

/// The longest `hub.challenge` echoed back, in bytes (Meta sends a short number).
pub const MAX_CHALLENGE_LEN: usize = 256;

/// The Graph API version the request builders address.
pub const GRAPH_VERSION: &str = "v21.0";

const PREFIX: &str = "sha256=";

/// Checks a webhook's `X-Hub-Signature-256` header: `sha256=` and the hex HMAC-SHA256 of
/// the raw request body keyed with the app secret, compared in constant time.
///
/// Verify the bytes exactly as received, before any JSON parsing or re-encoding.
///
/// # Errors
///
/// [`Error::Invalid`] (field `"X-Hub-Signature-256"`) for an empty app secret, a header
/// without the `sha256=` prefix, a digest that is not 64 hex digits, or a signature that
/// does not match the body.
pub fn verify_signature(raw_body: &[u8], header: &str, app_secret: &str) -> Result<()> {
    const FIELD: &str = "X-Hub-Signature-256";
    if app_secret.is_empty() {
        return Err(Error::invalid(FIELD, "the app secret is empty"));
    }
    let header = header.trim();
    let Some(hex) = header.strip_prefix(PREFIX) else {
        return Err(Error::invalid(
            FIELD,
            format!("{} does not start with {PREFIX:?}", quote(header)),
        ));
    };
    let expected = decode_hex(hex).map_err(|why| Error::invalid(FIELD, why))?;
    let mut mac = HmacSha256::new_from_slice(app_secret.as_bytes())
        .map_err(|e| Error::invalid(FIELD, format!("unusable app secret: {e}")))?;
    mac.update(raw_body);
    mac.verify_slice(&expected).map_err(|_| {
        Error::invalid(
            FIELD,
            format!(
                "signature {} does not match the body ({} bytes) and the app secret",
                quote(header),
                raw_body.len()
            ),
        )
    })
}

/// Answers the webhook verification handshake (the `GET` Meta sends when a webhook URL is
/// subscribed): returns `hub.challenge`, for the host to send back as the response body,
/// when `hub.mode` is `subscribe` and `hub.verify_token` equals `verify_token` (compared
/// in constant time).
///
/// `query` holds the decoded query parameters as the host's framework gives them.
///
/// # Errors
///
/// [`Error::Invalid`] (field `"hub.*"`) when a parameter is missing or repeated, the mode
/// is not `subscribe`, the token does not match, or the challenge is empty, longer than
/// [`MAX_CHALLENGE_LEN`] bytes or holds characters other than ASCII letters, digits, `-`,
/// `_` and `.` (it is echoed into an HTTP response).
pub fn handshake<K: AsRef<str>, V: AsRef<str>>(
    query: &[(K, V)],
    verify_token: &str,
) -> Result<String> {
    let mode = param(query, "hub.mode")?;
    if mode != "subscribe" {
        return Err(Error::invalid(
            "hub.mode",
            format!("{} is not \"subscribe\"", quote(mode)),
        ));
    }
    let token = param(query, "hub.verify_token")?;
    if verify_token.is_empty() {
        return Err(Error::invalid(
            "hub.verify_token",
            "the configured verify token is empty, so no request can match it",
        ));
    }
    if !constant_time_eq(token.as_bytes(), verify_token.as_bytes()) {
        return Err(Error::invalid(
            "hub.verify_token",
            "does not match the configured verify token",
        ));
    }
    let challenge = param(query, "hub.challenge")?;
    if challenge.is_empty() || challenge.len() > MAX_CHALLENGE_LEN {
        return Err(Error::invalid(
            "hub.challenge",
            format!(
                "{} bytes, expected 1 to {MAX_CHALLENGE_LEN}",
                challenge.len()
            ),
        ));
    }
    if let Some(c) = challenge
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(Error::invalid(
            "hub.challenge",
            format!("{} holds the character {c:?}", quote(challenge)),
        ));
    }
    Ok(challenge.to_string())
}

/// True while the customer-service [`WINDOW`] is open: the customer wrote less than 24
/// hours before `now`. `None` (the customer never wrote on this channel) is closed.
///
/// ```
/// use chrono::{DateTime, TimeDelta};
/// use throughline::channels::meta::{window_open, WINDOW};
/// let wrote = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
/// assert!(window_open(Some(wrote), wrote + WINDOW - TimeDelta::seconds(1)));
/// assert!(!window_open(Some(wrote), wrote + WINDOW));
/// assert!(!window_open(None, wrote));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn window_open(customer_wrote_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    window_open_for(customer_wrote_at, now, WINDOW)
}

/// As [`window_open`] with another window length (Messenger's 7-day human-agent tag).
pub fn window_open_for(
    customer_wrote_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    window: TimeDelta,
) -> bool {
    customer_wrote_at.is_some_and(|at| at.checked_add_signed(window).is_none_or(|end| now < end))
}

/// The value of one query parameter: missing or repeated is an error.
fn param<'a, K: AsRef<str>, V: AsRef<str>>(
    query: &'a [(K, V)],
    name: &'static str,
) -> Result<&'a str> {
    let mut found = query.iter().filter(|(k, _)| k.as_ref() == name);
    match (found.next(), found.next()) {
        (Some((_, v)), None) => Ok(v.as_ref()),
        (None, _) => Err(Error::invalid(name, "missing from the query")),
        (Some(_), Some(_)) => Err(Error::invalid(name, "given more than once")),
    }
}

/// Compares two secrets without an early exit on the first differing byte (only the
/// length may show in the timing).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Decodes exactly 64 hex digits (either case) into the 32 bytes of a SHA-256 digest.
fn decode_hex(hex: &str) -> std::result::Result<Vec<u8>, String> {
    if hex.len() != 64 {
        return Err(format!(
            "the digest {} is {} characters, expected 64 hex digits",
            quote(hex),
            hex.len()
        ));
    }
    let digit = |c: u8| -> std::result::Result<u8, String> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(format!(
                "the digest {} holds {:?}, not a hex digit",
                quote(hex),
                char::from(c)
            )),
        }
    };
    hex.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Ok(digit(*hi)? << 4 | digit(*lo)?),
            _ => Err(format!("the digest {} has an odd length", quote(hex))),
        })
        .collect()
}

/// A value quoted for an error message, cut to 64 characters.
pub(crate) fn quote(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{:?}…", &s[..i]),
        None => format!("{s:?}"),
    }
}

/// Parses a webhook body as `T`, turning serde's complaint into a clear, bounded error.
pub(crate) fn parse_json<'a, T: serde::Deserialize<'a>>(
    field: &'static str,
    raw_body: &'a [u8],
) -> Result<T> {
    crate::channels::check_size(field, raw_body)?;
    serde_json::from_slice(raw_body).map_err(|e| {
        let why = e.to_string();
        Error::invalid(
            field,
            format!("not the documented JSON: {}", cut(&why, 200)),
        )
    })
}

fn cut(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A Unix time in seconds (WhatsApp sends it as a decimal string).
#[cfg_attr(not(feature = "whatsapp"), allow(dead_code))]
pub(crate) fn unix_seconds(field: &'static str, raw: &str) -> Result<DateTime<Utc>> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!("{} is not a Unix time in seconds", quote(raw)),
            )
        })
}

/// A Unix time in milliseconds (Messenger).
#[cfg_attr(not(feature = "messenger"), allow(dead_code))]
pub(crate) fn unix_millis(field: &'static str, ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| Error::invalid(field, format!("{ms} is not a Unix time in milliseconds")))
}

/// A `POST` of a JSON body to the Graph API.
pub(crate) fn graph_post(path: &str, body: &serde_json::Value) -> Request {
    Request {
        method: "POST",
        url: format!("https://graph.facebook.com/{GRAPH_VERSION}/{path}"),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

/// The text messages a reply goes out as: its parts (or its body), blank ones left out,
/// each checked against `provider`'s `max_chars`.
///
/// # Errors
///
/// [`Error::Invalid`] for a reply with neither text nor attachments, or a part longer than
/// `max_chars` characters (naming the part and the limit).
pub(crate) fn text_parts<'a>(
    out: &'a crate::message::Outbound,
    max_chars: usize,
    provider: &str,
) -> Result<Vec<&'a str>> {
    let texts: Vec<&str> = if out.parts.is_empty() {
        vec![out.body.as_str()]
    } else {
        out.parts.iter().map(String::as_str).collect()
    };
    let texts: Vec<&str> = texts.into_iter().filter(|t| !t.trim().is_empty()).collect();
    if texts.is_empty() && out.attachments.is_empty() {
        return Err(Error::invalid(
            "body",
            "no text and no attachments; nothing to send",
        ));
    }
    for (i, t) in texts.iter().enumerate() {
        let n = t.chars().count();
        if n > max_chars {
            return Err(Error::invalid(
                "parts",
                format!(
                    "part {} is {n} characters, {provider} takes {max_chars}",
                    i + 1
                ),
            ));
        }
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(body: &[u8], secret: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256={hex}")
    }

    fn reason(e: Error) -> String {
        e.to_string()
    }

    #[test]
    fn a_signed_body_verifies_in_either_hex_case() {
        let header = sign(b"{}", "s3cret");
        verify_signature(b"{}", &header, "s3cret").unwrap();
        verify_signature(
            b"{}",
            &format!(
                "  {}\n",
                header.to_uppercase().replace("SHA256=", "sha256=")
            ),
            "s3cret",
        )
        .unwrap();
    }

    #[test]
    fn signature_errors_say_what_was_wrong() {
        let header = sign(b"{}", "s3cret");
        let e = reason(
            verify_signature(b"{}", header.trim_start_matches("sha256="), "s3cret").unwrap_err(),
        );
        assert!(e.contains("does not start with \"sha256=\""), "{e}");
        let e = reason(verify_signature(b"{}", &header[..header.len() - 2], "s3cret").unwrap_err());
        assert!(e.contains("62 characters, expected 64"), "{e}");
        let bad = format!("{}zz", &header[..header.len() - 2]);
        let e = reason(verify_signature(b"{}", &bad, "s3cret").unwrap_err());
        assert!(e.contains("'z', not a hex digit"), "{e}");
        let e = reason(verify_signature(b"{ }", &header, "s3cret").unwrap_err());
        assert!(e.contains("does not match the body (3 bytes)"), "{e}");
        let e = reason(verify_signature(b"{}", &header, "").unwrap_err());
        assert!(e.contains("app secret is empty"), "{e}");
    }

    #[test]
    fn handshake_rules() {
        let ok = [
            ("hub.mode", "subscribe"),
            ("hub.challenge", "42"),
            ("hub.verify_token", "t"),
        ];
        assert_eq!(handshake(&ok, "t").unwrap(), "42");
        let owned: Vec<(String, String)> = ok
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(handshake(&owned, "t").unwrap(), "42");
        assert!(reason(handshake(&ok, "u").unwrap_err()).contains("does not match"));
        assert!(
            reason(handshake(&ok, "").unwrap_err()).contains("configured verify token is empty")
        );
        let twice = [("hub.mode", "subscribe"), ("hub.mode", "subscribe")];
        assert!(reason(handshake(&twice, "t").unwrap_err()).contains("more than once"));
        let html = [
            ("hub.mode", "subscribe"),
            ("hub.challenge", "<b>"),
            ("hub.verify_token", "t"),
        ];
        assert!(reason(handshake(&html, "t").unwrap_err()).contains("holds the character '<'"));
    }

    #[test]
    fn window_edges() {
        let t = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        assert!(window_open(Some(t), t));
        assert!(
            window_open(Some(t), t - TimeDelta::hours(1)),
            "a clock-skewed future time is open"
        );
        assert!(window_open(
            Some(t),
            t + WINDOW - TimeDelta::milliseconds(1)
        ));
        assert!(!window_open(Some(t), t + WINDOW));
        assert!(!window_open(None, t));
        assert!(window_open_for(
            Some(t),
            t + TimeDelta::days(6),
            TimeDelta::days(7)
        ));
    }

    #[test]
    fn quote_cuts_long_values() {
        let q = quote(&"é".repeat(100));
        assert_eq!(q.chars().filter(|c| *c == 'é').count(), 64);
        assert!(q.ends_with('…'));
        assert_eq!(quote("ab"), "\"ab\"");
    }

    #[test]
    fn unix_times() {
        assert_eq!(
            unix_seconds("t", "1749416383").unwrap().timestamp(),
            1_749_416_383
        );
        assert!(
            reason(unix_seconds("t", "soon").unwrap_err()).contains("\"soon\" is not a Unix time")
        );
        assert!(unix_seconds("t", "99999999999999999").is_err());
        assert_eq!(
            unix_millis("t", 1_458_692_752_478)
                .unwrap()
                .timestamp_subsec_millis(),
            478
        );
        assert!(unix_millis("t", i64::MAX).is_err());
    }
}
