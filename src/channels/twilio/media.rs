//! Media (`NumMedia`, `MediaUrlN`, `MediaContentTypeN`) and shared locations of an inbound
//! message.

use super::form;
use super::inbound::MAX_MEDIA;
use crate::error::{Error, Result};
use crate::message::Attachment;

/// The attachment references of a message, in `MediaUrl0…` order.
///
/// Twilio sends no file name or size: the name is the URL's last path segment (Twilio's
/// media SID) with an extension for the content type, the size is 0.
pub(crate) fn attachments(params: &[(String, String)]) -> Result<Vec<Attachment>> {
    let count = match form::get(params, "NumMedia").map(str::trim) {
        None | Some("") => 0,
        Some(n) => n.parse::<usize>().map_err(|_| {
            Error::invalid("NumMedia", format!("{} is not a count", form::quote(n)))
        })?,
    };
    if count > MAX_MEDIA {
        return Err(Error::invalid(
            "NumMedia",
            format!("{count} media, the maximum is {MAX_MEDIA}"),
        ));
    }
    (0..count).map(|i| one(params, i)).collect()
}

fn one(params: &[(String, String)], i: usize) -> Result<Attachment> {
    let url_name = format!("MediaUrl{i}");
    let url = form::get(params, &url_name).map(str::trim).unwrap_or("");
    if url.is_empty() {
        return Err(Error::invalid(
            "MediaUrl",
            format!("NumMedia announces media {i}, but {url_name} is missing"),
        ));
    }
    check_url("MediaUrl", url)?;
    let content_type = form::get(params, &format!("MediaContentType{i}"))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| valid_mime(t))
        .unwrap_or_else(|| "application/octet-stream".to_string());
    Ok(Attachment {
        name: name(url, &content_type, i),
        content_type,
        size: 0,
        url: url.to_string(),
    })
}

/// Refuses anything but a plain `http(s)://` URL of reasonable length.
pub(crate) fn check_url(field: &'static str, url: &str) -> Result<()> {
    let scheme_ok = ["https://", "http://"].iter().any(|s| {
        url.get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    });
    if !scheme_ok || url.len() > 2_048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            field,
            format!("{} is not an http(s) URL", form::quote(url)),
        ));
    }
    Ok(())
}

fn valid_mime(t: &str) -> bool {
    let mut parts = t.splitn(2, '/');
    let ok = |s: Option<&str>| {
        s.is_some_and(|s| {
            !s.is_empty()
                && s.len() <= 100
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.;=_ ".contains(&b))
        })
    };
    ok(parts.next()) && ok(parts.next())
}

/// The URL's last path segment, made file-name safe, with the content type's extension.
fn name(url: &str, content_type: &str, i: usize) -> String {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let after_host = path
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map_or("", |(_, p)| p);
    let last = after_host.rsplit('/').next().unwrap_or("");
    let mut stem: String = last
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(100)
        .collect();
    if stem.trim_matches('.').is_empty() {
        stem = format!("media{i}");
    }
    match extension(content_type) {
        Some(ext) if !stem.to_ascii_lowercase().ends_with(&format!(".{ext}")) => {
            format!("{stem}.{ext}")
        }
        _ => stem,
    }
}

/// The usual file extension of a MIME type Twilio relays.
pub(crate) fn extension(content_type: &str) -> Option<&'static str> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    Some(match essence {
        "image/jpeg" | "image/jpg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/bmp" => "bmp",
        "image/heic" => "heic",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "video/quicktime" => "mov",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/ogg" => "ogg",
        "audio/amr" => "amr",
        "audio/mp4" | "audio/aac" => "m4a",
        "audio/wav" | "audio/x-wav" => "wav",
        "application/pdf" => "pdf",
        "text/vcard" | "text/x-vcard" => "vcf",
        "text/calendar" => "ics",
        "text/plain" => "txt",
        "text/csv" => "csv",
        _ => return None,
    })
}

/// A shared location (Twilio's WhatsApp `Latitude`, `Longitude`, `Address`, `Label`) as
/// text, for a message whose body is empty.
pub(crate) fn location(params: &[(String, String)]) -> Result<Option<String>> {
    let (Some(lat), Some(lon)) = (
        form::get(params, "Latitude"),
        form::get(params, "Longitude"),
    ) else {
        return Ok(None);
    };
    let coord = |field: &'static str, raw: &str, max: f64| -> Result<f64> {
        match raw.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v.abs() <= max => Ok(v),
            _ => Err(Error::invalid(
                field,
                format!("{} is not a coordinate", form::quote(raw)),
            )),
        }
    };
    let (lat, lon) = (
        coord("Latitude", lat, 90.0)?,
        coord("Longitude", lon, 180.0)?,
    );
    let mut text = format!("Location: {lat}, {lon}");
    let extra: Vec<String> = ["Label", "Address"]
        .into_iter()
        .filter_map(|n| form::get(params, n))
        .map(|v| crate::text::truncate(&crate::text::sanitize_name(v), 200))
        .filter(|v| !v.is_empty())
        .collect();
    if !extra.is_empty() {
        text.push_str(&format!(" ({})", extra.join(", ")));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_url_and_type() {
        let url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME0a1b";
        assert_eq!(name(url, "image/jpeg", 0), "ME0a1b.jpg");
        assert_eq!(
            name(&format!("{url}?x=1"), "application/x-foo", 0),
            "ME0a1b"
        );
        assert_eq!(name("https://h/a/photo.PNG", "image/png", 0), "photo.PNG");
        assert_eq!(name("https://h/", "image/png", 3), "media3.png");
        assert_eq!(name("https://h/%2E%2E", "text/plain", 1), "2E2E.txt");
        assert_eq!(name("https://h", "text/plain", 2), "media2.txt");
        assert_eq!(name("https://h/..", "image/gif", 4), "media4.gif");
    }

    #[test]
    fn refuses_odd_urls() {
        for url in [
            "ftp://h/x",
            "javascript:alert(1)",
            "https://h/a b",
            "//h/x",
            "https:",
        ] {
            assert!(check_url("MediaUrl", url).is_err(), "{url}");
        }
        assert!(check_url("MediaUrl", "HTTPS://h/x").is_ok());
    }
}
