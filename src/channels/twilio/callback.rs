//! Status callback URLs tagged with our message id, so a receipt names the message without
//! a lookup by `MessageSid`.

use super::form;
use crate::error::{Error, Result};
use crate::id::MessageId;

/// The query parameter [`with_message_param`] adds.
pub const MESSAGE_PARAM: &str = "tl_message";

/// `url` with `tl_message=<id>` added to its query string (before any `#fragment`): pass
/// it as [`super::request`]'s `status_callback`, and read it back from the callback's URL
/// with [`parse_status_callback_url`]. Twilio signs the URL with the query, so the tag
/// cannot be altered without failing [`super::verify_body`].
///
/// ```
/// use throughline::channels::twilio::{parse_status_callback_url, with_message_param};
/// use throughline::MessageId;
/// let id: MessageId = "0193a3c0-0000-7000-8000-000000000003".parse()?;
/// let url = with_message_param("https://support.example.com/twilio/status?inbox=7", id);
/// assert_eq!(url, "https://support.example.com/twilio/status?inbox=7\
///                  &tl_message=0193a3c0-0000-7000-8000-000000000003");
/// assert_eq!(parse_status_callback_url(&url)?, Some(id));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn with_message_param(url: &str, message: MessageId) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = match base.split_once('?') {
        None => "?",
        Some((_, q)) if q.is_empty() || q.ends_with('&') => "",
        Some(_) => "&",
    };
    let mut out = format!("{base}{sep}{MESSAGE_PARAM}={message}");
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Our message id from a status callback URL tagged by [`with_message_param`]; `None`
/// when the URL carries no tag. Set it as [`crate::channels::Receipt::message`] on the
/// receipt [`super::parse`] returned for that callback.
///
/// # Errors
///
/// [`Error::Invalid`] when the tag is present but is not a message id, or appears twice
/// with different values.
pub fn parse_status_callback_url(url: &str) -> Result<Option<MessageId>> {
    let query = url
        .split('#')
        .next()
        .and_then(|u| u.split_once('?'))
        .map_or("", |(_, q)| q);
    let mut found: Option<MessageId> = None;
    for (name, value) in form::decode(query.as_bytes())? {
        if name != MESSAGE_PARAM {
            continue;
        }
        let id: MessageId = value.trim().parse().map_err(|_| {
            Error::invalid(
                "status callback url",
                format!(
                    "{MESSAGE_PARAM}={} is not a message id",
                    form::quote(&value)
                ),
            )
        })?;
        if found.is_some_and(|f| f != id) {
            return Err(Error::invalid(
                "status callback url",
                format!("{MESSAGE_PARAM} appears twice with different ids"),
            ));
        }
        found = Some(id);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> MessageId {
        "0193a3c0-0000-7000-8000-000000000003".parse().unwrap()
    }

    #[test]
    fn tags_any_url_shape_and_reads_it_back() {
        for (url, want) in [
            ("https://h/s", "https://h/s?tl_message=ID"),
            ("https://h/s?", "https://h/s?tl_message=ID"),
            ("https://h/s?a=1", "https://h/s?a=1&tl_message=ID"),
            ("https://h/s?a=1&", "https://h/s?a=1&tl_message=ID"),
            ("https://h/s#frag", "https://h/s?tl_message=ID#frag"),
            ("https://h/s?a=1#f?x", "https://h/s?a=1&tl_message=ID#f?x"),
        ] {
            let tagged = with_message_param(url, id());
            assert_eq!(tagged, want.replace("ID", &id().to_string()), "{url}");
            assert_eq!(
                parse_status_callback_url(&tagged).unwrap(),
                Some(id()),
                "{url}"
            );
        }
    }

    #[test]
    fn untagged_and_bad_tags() {
        assert_eq!(parse_status_callback_url("https://h/s?a=1").unwrap(), None);
        assert_eq!(parse_status_callback_url("").unwrap(), None);
        assert!(parse_status_callback_url("https://h/s?tl_message=nope").is_err());
        let other = "0193a3c0-0000-7000-8000-000000000004";
        let twice = format!(
            "{}&tl_message={other}",
            with_message_param("https://h/s", id())
        );
        assert!(parse_status_callback_url(&twice).is_err());
    }
}
