//! HTML to plain text, for a mail whose only body is HTML.
//!
//! Small and forgiving: tags are dropped, `<script>`, `<style>`, `<head>` and `<title>`
//! are dropped with their content, entities are decoded, runs of white space collapse to
//! one space (except inside `<pre>`), block elements (`p`, `div`, `br`, `li`, `tr`,
//! headings, ...) end a line, and text inside `<blockquote>` is prefixed with `> ` so the
//! quoted-history split treats it as quoted.

/// Elements whose content is never text.
const HIDDEN: [&str; 5] = ["script", "style", "head", "title", "template"];

/// The deepest `<blockquote>` nesting shown with `> ` prefixes (deeper is shown at this
/// depth), so hostile nesting cannot blow up the output.
const MAX_QUOTE_PREFIX: usize = 16;

/// Elements that start and end a line.
const BLOCKS: [&str; 22] = [
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "blockquote",
    "hr",
    "section",
    "article",
    "header",
    "footer",
    "dd",
    "dt",
];

/// Converts HTML to plain text (see the module docs for the rules).
///
/// ```
/// use throughline::channels::email::html_to_text;
/// let text = html_to_text("<p>Hi &amp; thanks</p><script>x()</script><div>Ana</div>");
/// assert_eq!(text, "Hi & thanks\n\nAna");
/// ```
pub fn html_to_text(html: &str) -> String {
    let mut out = Writer::default();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.text(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            // An unterminated tag: the rest is not text.
            rest = "";
            break;
        };
        let tag = Tag::read(&rest[1..gt]);
        rest = &rest[gt + 1..];
        if !tag.closing && HIDDEN.contains(&tag.name.as_str()) {
            rest = skip_element(rest, &tag.name);
            continue;
        }
        out.tag(&tag);
    }
    out.text(rest);
    out.finish()
}

/// Skips to just after `</name>` (case-insensitive), or to the end. Linear: the text is
/// scanned once, without copies.
fn skip_element<'a>(rest: &'a str, name: &str) -> &'a str {
    let mut from = 0;
    while let Some(pos) = rest.get(from..).and_then(|r| r.find("</")) {
        let at = from + pos;
        let matches = rest
            .as_bytes()
            .get(at + 2..at + 2 + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()));
        if matches {
            let tail = rest.get(at..).unwrap_or_default();
            return tail.find('>').map_or("", |gt| &tail[gt + 1..]);
        }
        from = at + 2;
    }
    ""
}

/// One tag's name and whether it closes.
struct Tag {
    name: String,
    closing: bool,
}

impl Tag {
    fn read(inner: &str) -> Tag {
        let inner = inner.trim_start();
        let (closing, inner) = match inner.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, inner),
        };
        let name: String = inner
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Tag { name, closing }
    }
}

/// Accumulates lines, tracking `<pre>` and `<blockquote>` depth.
#[derive(Default)]
struct Writer {
    lines: Vec<String>,
    line: String,
    pending_space: bool,
    pre: usize,
    quote: usize,
    /// The quote depth the current line was started at.
    line_quote: usize,
}

impl Writer {
    fn text(&mut self, raw: &str) {
        if raw.is_empty() {
            return;
        }
        let decoded = decode_entities(raw);
        if self.pre > 0 {
            let mut first = true;
            for piece in decoded.split('\n') {
                if !first {
                    self.end_line(true);
                }
                first = false;
                self.push_word(piece);
            }
            return;
        }
        if decoded.starts_with(char::is_whitespace) {
            self.pending_space = true;
        }
        let mut words = decoded.split_whitespace().peekable();
        while let Some(word) = words.next() {
            self.push_word(word);
            if words.peek().is_some() {
                self.pending_space = true;
            }
        }
        if decoded.ends_with(char::is_whitespace) {
            self.pending_space = true;
        }
    }

    fn push_word(&mut self, word: &str) {
        if word.is_empty() {
            return;
        }
        if self.line.is_empty() {
            self.line_quote = self.quote;
        } else if self.pending_space {
            self.line.push(' ');
        }
        self.pending_space = false;
        // A non-breaking space from `&nbsp;` is text, but shown as a plain space.
        self.line.push_str(&word.replace('\u{a0}', " "));
    }

    fn tag(&mut self, tag: &Tag) {
        match tag.name.as_str() {
            "br" => self.end_line(true),
            "pre" if !tag.closing => {
                self.end_line(false);
                self.pre += 1;
            }
            "pre" => {
                self.end_line(false);
                self.pre = self.pre.saturating_sub(1);
            }
            "blockquote" => {
                self.end_line(false);
                self.quote = if tag.closing {
                    self.quote.saturating_sub(1)
                } else {
                    self.quote.saturating_add(1)
                };
            }
            "td" | "th" if !tag.closing => self.pending_space = true,
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.end_line(false);
                self.blank_line();
            }
            name if BLOCKS.contains(&name) => self.end_line(false),
            _ => {}
        }
    }

    /// Ends the current line; an empty line is kept only when `keep_empty` (a `<br>`).
    fn end_line(&mut self, keep_empty: bool) {
        self.pending_space = false;
        if self.line.trim().is_empty() {
            self.line.clear();
            if keep_empty {
                let prefix = "> ".repeat(self.quote.min(MAX_QUOTE_PREFIX));
                self.lines.push(prefix.trim_end().to_string());
            }
            return;
        }
        let prefix = "> ".repeat(self.line_quote.min(MAX_QUOTE_PREFIX));
        let line = std::mem::take(&mut self.line);
        self.lines.push(format!("{prefix}{}", line.trim_end()));
    }

    /// Ends a paragraph: one blank line (repeated blank lines collapse in `finish`).
    fn blank_line(&mut self) {
        let prefix = "> ".repeat(self.quote.min(MAX_QUOTE_PREFIX));
        self.lines.push(prefix.trim_end().to_string());
    }

    fn finish(mut self) -> String {
        self.end_line(false);
        let mut out: Vec<&str> = Vec::with_capacity(self.lines.len());
        for line in &self.lines {
            let blank = line.trim_start_matches(['>', ' ']).is_empty();
            let last_blank = out
                .last()
                .is_none_or(|l| l.trim_start_matches(['>', ' ']).is_empty());
            if blank && last_blank {
                continue;
            }
            out.push(line);
        }
        while out
            .last()
            .is_some_and(|l| l.trim_start_matches(['>', ' ']).is_empty())
        {
            out.pop();
        }
        out.join("\n")
    }
}

/// Named entities decoded besides the numeric forms.
const ENTITIES: [(&str, char); 32] = [
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", '\u{a0}'),
    ("hellip", '…'),
    ("mdash", '—'),
    ("ndash", '–'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("laquo", '«'),
    ("raquo", '»'),
    ("euro", '€'),
    ("copy", '©'),
    ("reg", '®'),
    ("eacute", 'é'),
    ("egrave", 'è'),
    ("ecirc", 'ê'),
    ("agrave", 'à'),
    ("aacute", 'á'),
    ("iacute", 'í'),
    ("oacute", 'ó'),
    ("uacute", 'ú'),
    ("ntilde", 'ñ'),
    ("ccedil", 'ç'),
    ("auml", 'ä'),
    ("ouml", 'ö'),
    ("uuml", 'ü'),
    ("szlig", 'ß'),
];

/// Decodes `&name;`, `&#NNN;` and `&#xHH;`; anything else stays as written.
fn decode_entities(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i);
        let decoded = end.and_then(|end| entity(&rest[1..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return Some(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    ENTITIES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_end_lines_and_inline_tags_do_not() {
        let html =
            "<div dir=\"ltr\">Hello <b>Ana</b>,<div><br></div><div>the parcel left.</div></div>";
        assert_eq!(html_to_text(html), "Hello Ana,\n\nthe parcel left.");
    }

    #[test]
    fn hidden_elements_and_comments_are_dropped() {
        let html = "<html><head><title>T</title><style>p{color:red}</style></head>\
                    <body><!-- note --><p>Text</p><SCRIPT>alert(1)</SCRIPT></body></html>";
        assert_eq!(html_to_text(html), "Text");
    }

    #[test]
    fn paragraphs_are_separated_by_a_blank_line() {
        assert_eq!(
            html_to_text("<p>One</p><p>Two</p><h2>Three</h2>Four"),
            "One\n\nTwo\n\nThree\n\nFour"
        );
    }

    #[test]
    fn entities_are_decoded() {
        assert_eq!(
            html_to_text("5 &lt; 6 &amp;&amp; caf&eacute; &#8364;&#x263A; &bogus; & x"),
            "5 < 6 && café €☺ &bogus; & x"
        );
    }

    #[test]
    fn blockquotes_are_prefixed() {
        let html = "<div>Yes.</div><div>On Mon wrote:</div><blockquote><div>Is it?</div><div>Thanks</div></blockquote>";
        assert_eq!(
            html_to_text(html),
            "Yes.\nOn Mon wrote:\n> Is it?\n> Thanks"
        );
    }

    #[test]
    fn pre_keeps_line_breaks() {
        assert_eq!(html_to_text("<pre>a  b\nc</pre>"), "a  b\nc");
    }

    #[test]
    fn broken_html_does_not_panic() {
        for html in [
            "<",
            "<!--",
            "<div",
            "&#99999999;",
            "&#x110000;",
            "<script>",
            "é<",
        ] {
            let _ = html_to_text(html);
        }
        assert_eq!(html_to_text("&#x110000;"), "\u{fffd}");
        assert_eq!(html_to_text("<style>a</p></STYLE >b"), "b");
        let deep = format!("{}x", "<blockquote>".repeat(10_000));
        assert_eq!(
            html_to_text(&deep),
            format!("{}x", "> ".repeat(MAX_QUOTE_PREFIX))
        );
    }
}
