//! The webhook's wire format, as Meta documents it: only the fields the adapter reads;
//! everything else is ignored, so new fields do not break parsing.

use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct Payload {
    pub(super) object: String,
    #[serde(default)]
    pub(super) entry: Vec<Entry>,
}

#[derive(Deserialize)]
pub(super) struct Entry {
    #[serde(default)]
    pub(super) changes: Vec<Change>,
}

#[derive(Deserialize)]
pub(super) struct Change {
    #[serde(default)]
    pub(super) value: Option<Value>,
}

#[derive(Deserialize)]
pub(super) struct Value {
    #[serde(default)]
    pub(super) metadata: Option<Metadata>,
    #[serde(default)]
    pub(super) contacts: Vec<Contact>,
    #[serde(default)]
    pub(super) messages: Vec<Msg>,
    #[serde(default)]
    pub(super) statuses: Vec<Status>,
}

#[derive(Deserialize)]
pub(super) struct Metadata {
    #[serde(default)]
    pub(super) phone_number_id: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Contact {
    #[serde(default)]
    pub(super) wa_id: Option<String>,
    #[serde(default)]
    pub(super) profile: Option<Profile>,
}

#[derive(Deserialize)]
pub(super) struct Profile {
    #[serde(default)]
    pub(super) name: Option<String>,
}

/// A number Meta may send as a string (documented) or as a bare number.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Stamp {
    Text(String),
    Number(i64),
}

impl Stamp {
    /// The value as text.
    pub(super) fn text(&self) -> String {
        match self {
            Stamp::Text(s) => s.clone(),
            Stamp::Number(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Msg {
    pub(super) from: String,
    pub(super) id: String,
    pub(super) timestamp: Stamp,
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) context: Option<Context>,
    #[serde(default)]
    pub(super) text: Option<Text>,
    #[serde(default)]
    pub(super) image: Option<Media>,
    #[serde(default)]
    pub(super) video: Option<Media>,
    #[serde(default)]
    pub(super) audio: Option<Media>,
    #[serde(default)]
    pub(super) document: Option<Media>,
    #[serde(default)]
    pub(super) sticker: Option<Media>,
    #[serde(default)]
    pub(super) location: Option<Location>,
    #[serde(default)]
    pub(super) interactive: Option<Interactive>,
    #[serde(default)]
    pub(super) button: Option<Button>,
    #[serde(default)]
    pub(super) reaction: Option<Reaction>,
    #[serde(default)]
    pub(super) errors: Vec<ApiError>,
}

#[derive(Deserialize)]
pub(super) struct Context {
    #[serde(default)]
    pub(super) id: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Text {
    #[serde(default)]
    pub(super) body: String,
}

#[derive(Deserialize)]
pub(super) struct Media {
    pub(super) id: String,
    #[serde(default)]
    pub(super) mime_type: Option<String>,
    #[serde(default)]
    pub(super) caption: Option<String>,
    #[serde(default)]
    pub(super) filename: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Location {
    pub(super) latitude: f64,
    pub(super) longitude: f64,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) address: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Interactive {
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) button_reply: Option<Reply>,
    #[serde(default)]
    pub(super) list_reply: Option<Reply>,
}

#[derive(Deserialize)]
pub(super) struct Reply {
    pub(super) title: String,
}

#[derive(Deserialize)]
pub(super) struct Button {
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) payload: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Reaction {
    #[serde(default)]
    pub(super) message_id: Option<String>,
    #[serde(default)]
    pub(super) emoji: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ApiError {
    #[serde(default)]
    pub(super) code: Option<i64>,
    #[serde(default)]
    pub(super) title: Option<String>,
    #[serde(default)]
    pub(super) error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
pub(super) struct ErrorData {
    #[serde(default)]
    pub(super) details: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Status {
    pub(super) id: String,
    pub(super) status: String,
    #[serde(default)]
    pub(super) timestamp: Option<Stamp>,
    #[serde(default)]
    pub(super) errors: Vec<ApiError>,
}
