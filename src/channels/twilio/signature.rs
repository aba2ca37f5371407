//! `X-Twilio-Signature`: HMAC-SHA1 over the webhook URL and its POST parameters.
//!
//! Twilio's documented algorithm: take the full URL Twilio requested (scheme, host, path
//! and query string, exactly as configured), append every POST parameter as its name
//! immediately followed by its value, in order of the names, compute HMAC-SHA1 with the
//! account's auth token as the key, and base64 the digest. A name that occurs more than
//! once contributes each of its distinct values in sorted order, as Twilio's helper
//! libraries do. Names and values are compared by their bytes (code points).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::form;
use crate::error::{Error, Result};

type HmacSha1 = Hmac<Sha1>;

/// The header Twilio puts the signature in.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// The signature Twilio would send for a POST of `params` to `url`, signed with
/// `auth_token`: for tests, and for hosts that forward webhooks to another service and
/// re-sign them.
///
/// ```
/// use throughline::channels::twilio::sign;
/// // The example Twilio's helper-library documentation publishes.
/// let params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"),
///               ("Digits", "1234"), ("From", "+14158675309"), ("To", "+18005551212")]
///     .map(|(n, v)| (n.to_string(), v.to_string()));
/// let sig = sign("https://mycompany.com/myapp.php?foo=1&bar=2", &params, "12345");
/// assert_eq!(sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
/// ```
pub fn sign(url: &str, params: &[(String, String)], auth_token: &str) -> String {
    match mac(url, params, auth_token) {
        Ok(mac) => STANDARD.encode(mac.finalize().into_bytes()),
        // HMAC takes keys of any length: not reached.
        Err(_) => String::new(),
    }
}

/// Checks the `X-Twilio-Signature` of a webhook POST of `params` to `url`, in constant
/// time.
///
/// `url` must be the URL exactly as Twilio requested it (behind a proxy, the public
/// `https://` URL with its query string, not the one the proxy forwarded to); `params`
/// every POST parameter received, repeated names included.
///
/// # Errors
///
/// [`Error::Invalid`] for an empty auth token, an empty or non-base64 signature, or a
/// signature that does not match (a changed URL, parameter or value, a missing or added
/// parameter, another auth token).
///
/// ```
/// use throughline::channels::twilio::{sign, verify};
/// let url = "https://support.example.com/twilio/sms";
/// let params = vec![("Body".to_string(), "Hi".to_string())];
/// let sig = sign(url, &params, "token");
/// assert!(verify(url, &params, &sig, "token").is_ok());
/// assert!(verify(url, &params, &sig, "another token").is_err());
/// ```
pub fn verify(
    url: &str,
    params: &[(String, String)],
    signature: &str,
    auth_token: &str,
) -> Result<()> {
    if auth_token.is_empty() {
        return Err(Error::invalid("auth_token", "empty auth token"));
    }
    let signature = signature.trim();
    if signature.is_empty() {
        return Err(Error::invalid(
            SIGNATURE_HEADER,
            "missing or empty signature",
        ));
    }
    let expected = STANDARD.decode(signature).map_err(|e| {
        Error::invalid(
            SIGNATURE_HEADER,
            format!("{} is not base64: {e}", form::quote(signature)),
        )
    })?;
    mac(url, params, auth_token)?
        .verify_slice(&expected)
        .map_err(|_| {
            Error::invalid(
                SIGNATURE_HEADER,
                format!(
                    "{} does not match the URL {} and the {} parameters",
                    form::quote(signature),
                    form::quote(url),
                    params.len()
                ),
            )
        })
}

/// As [`verify`], over the raw `application/x-www-form-urlencoded` body.
///
/// # Errors
///
/// As [`verify`]; also [`Error::Invalid`] for an oversized or malformed body.
pub fn verify_body(url: &str, body: &[u8], signature: &str, auth_token: &str) -> Result<()> {
    crate::channels::check_size("twilio webhook", body)?;
    let params = form::decode(body)?;
    verify(url, &params, signature, auth_token)
}

/// The keyed MAC over the URL and the sorted parameters.
fn mac(url: &str, params: &[(String, String)], auth_token: &str) -> Result<HmacSha1> {
    let mut mac = HmacSha1::new_from_slice(auth_token.as_bytes())
        .map_err(|e| Error::invalid("auth_token", e))?;
    mac.update(url.as_bytes());
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parameter_order_does_not_matter() {
        let a = p(&[("B", "2"), ("A", "1")]);
        let b = p(&[("A", "1"), ("B", "2")]);
        assert_eq!(sign("https://x", &a, "t"), sign("https://x", &b, "t"));
    }

    #[test]
    fn repeated_names_sign_sorted_distinct_values() {
        // Twilio's helper libraries: each name once, its distinct values in sorted order.
        let repeated = p(&[
            ("MediaUrl", "b"),
            ("To", "1"),
            ("MediaUrl", "a"),
            ("MediaUrl", "b"),
        ]);
        let flat = "https://xMediaUrlaMediaUrlbTo1";
        let mut m = HmacSha1::new_from_slice(b"t").unwrap();
        m.update(flat.as_bytes());
        assert_eq!(
            sign("https://x", &repeated, "t"),
            STANDARD.encode(m.finalize().into_bytes())
        );
    }

    #[test]
    fn refuses_an_empty_token() {
        let sig = sign("https://x", &[], "");
        assert!(verify("https://x", &[], &sig, "").is_err());
    }
}
