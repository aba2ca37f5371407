//! Strict `application/x-www-form-urlencoded` decoding: Twilio's webhooks arrive in it.
//!
//! Unlike a lossy decoder, a percent-escape that decodes to invalid UTF-8 is an error here,
//! not a silent U+FFFD: a webhook is signed over its exact values, and a body an adapter
//! would have to guess at is refused.

use crate::error::{Error, Result};

/// The most parameters one webhook may carry (Twilio sends a few dozen).
pub(crate) const MAX_PARAMS: usize = 1_000;

/// Decodes a form body into its `(name, value)` pairs, in order, repeated names kept.
pub(crate) fn decode(body: &[u8]) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for piece in body.split(|b| *b == b'&') {
        if piece.is_empty() {
            continue;
        }
        if pairs.len() == MAX_PARAMS {
            return Err(Error::invalid(
                "form body",
                format!("more than {MAX_PARAMS} parameters"),
            ));
        }
        let (name, value) = match piece.iter().position(|b| *b == b'=') {
            Some(at) => (&piece[..at], &piece[at + 1..]),
            None => (piece, &[][..]),
        };
        let name = unescape(name)?;
        let value = unescape(value).map_err(|e| match e {
            Error::Invalid { reason, .. } => {
                Error::invalid("form body", format!("parameter {name:?}: {reason}"))
            }
            other => other,
        })?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// Decodes one name or value: `+` is a space, `%XX` a byte; the bytes must be UTF-8.
fn unescape(raw: &[u8]) -> Result<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => match (raw.get(i + 1).and_then(hex), raw.get(i + 2).and_then(hex)) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => {
                    let bad =
                        String::from_utf8_lossy(raw.get(i..(i + 3).min(raw.len())).unwrap_or(&[]));
                    return Err(Error::invalid(
                        "form body",
                        format!("malformed percent-escape {bad:?}"),
                    ));
                }
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|e| {
        let text = String::from_utf8_lossy(e.as_bytes());
        Error::invalid(
            "form body",
            format!("not UTF-8: {:?}", crate::text::truncate(&text, 40)),
        )
    })
}

fn hex(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The first value of `name`, if present.
pub(crate) fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The first non-blank value of `name`, or an error naming the missing parameter.
pub(crate) fn require<'a>(params: &'a [(String, String)], name: &'static str) -> Result<&'a str> {
    match get(params, name).map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err(Error::invalid(name, "empty parameter")),
        None => Err(Error::invalid(name, "missing parameter")),
    }
}

/// Quotes an untrusted value for an error message, cut to a readable length.
pub(crate) fn quote(value: &str) -> String {
    format!("{:?}", crate::text::truncate(value, 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_escapes_and_repeats() {
        let got = decode(b"Body=Hi+there%21&To=%2B1555&To=x&flag&=v").unwrap();
        assert_eq!(
            got,
            vec![
                ("Body".into(), "Hi there!".into()),
                ("To".into(), "+1555".into()),
                ("To".into(), "x".into()),
                ("flag".into(), String::new()),
                (String::new(), "v".into()),
            ]
        );
    }

    #[test]
    fn decodes_utf8_escapes() {
        let got = decode(b"Body=%F0%9F%98%80%20%D9%85%D8%B1%D8%AD%D8%A8%D8%A7").unwrap();
        assert_eq!(got[0].1, "😀 مرحبا");
    }

    #[test]
    fn refuses_bad_escapes_and_bad_utf8() {
        for body in [
            &b"Body=%"[..],
            b"Body=%4",
            b"Body=%zz",
            b"Body=%FF%FE",
            b"Body=\xff",
        ] {
            let err = decode(body).unwrap_err().to_string();
            assert!(err.contains("form body"), "{err}");
        }
    }

    #[test]
    fn caps_the_parameter_count() {
        let body = "a=1&".repeat(MAX_PARAMS + 1);
        assert!(decode(body.as_bytes()).is_err());
        let body = "a=1&".repeat(MAX_PARAMS);
        assert_eq!(decode(body.as_bytes()).unwrap().len(), MAX_PARAMS);
    }
}
