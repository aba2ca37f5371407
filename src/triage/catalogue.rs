//! The intent catalogue: what customers contact about, what each reason is worth, and
//! what to do with it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A value to the customer or to the organisation (Price & Jaffe's value-irritant matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// Worth having the contact.
    High,
    /// An irritant on this side.
    Low,
}

/// What to do with a contact reason, decided by its quadrant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Disposition {
    /// Low/low: answer once, tag it as an irritant whose root cause must be fixed.
    Eliminate,
    /// High to the customer, low to the organisation: reply with the articles, keep the
    /// conversation pending, hand over if the customer insists.
    SelfService,
    /// Low to the customer, high to the organisation: a bot or form collects what is
    /// needed, then hands over with the full history.
    Automate,
    /// High/high: a skilled human, high priority.
    Leverage,
}

impl Disposition {
    /// The quadrant's disposition.
    pub fn of(customer: Value, organisation: Value) -> Disposition {
        match (customer, organisation) {
            (Value::Low, Value::Low) => Disposition::Eliminate,
            (Value::High, Value::Low) => Disposition::SelfService,
            (Value::Low, Value::High) => Disposition::Automate,
            (Value::High, Value::High) => Disposition::Leverage,
        }
    }

    /// Whether a human normally handles it from the start.
    pub fn needs_human(self) -> bool {
        matches!(self, Disposition::Leverage)
    }
}

/// A field an automated flow collects before handing over ("order number").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    /// The field's name, as handed over.
    pub name: String,
    /// What the bot asks.
    pub question: String,
    /// How an answer is accepted.
    pub accept: Accept,
}

/// How a form answer is accepted (no regular expressions: simple, fast, predictable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum Accept {
    /// The first run of ASCII digits with a length in `min..=max` in the answer.
    Digits {
        /// Fewest digits.
        min: usize,
        /// Most digits.
        max: usize,
    },
    /// Any non-empty answer (trimmed, at most 500 characters).
    Text,
}

impl Accept {
    /// The accepted value in `answer`, if any.
    pub fn extract(&self, answer: &str) -> Option<String> {
        match self {
            Accept::Digits { min, max } => answer
                .split(|c: char| !c.is_ascii_digit())
                .find(|run| (*min..=*max).contains(&run.len()))
                .map(str::to_string),
            Accept::Text => {
                let t = answer.trim();
                (!t.is_empty()).then(|| t.chars().take(500).collect())
            }
        }
    }
}

/// One contact reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// Unique name ("refund", "order_status").
    pub name: String,
    /// Value to the customer.
    pub customer_value: Value,
    /// Value to the organisation.
    pub organisation_value: Value,
    /// What one contact costs when a human handles it (any currency unit).
    pub cost_per_contact: f64,
    /// Help articles that answer it (ids or URLs).
    pub articles: Vec<String>,
    /// Skills a human needs, with the minimum level (1-10).
    pub skills: Vec<(String, u8)>,
    /// Phrases that signal it, per language code (`"*"`: any language).
    pub phrases: BTreeMap<String, Vec<String>>,
    /// What an automated flow collects before handing over.
    pub form: Vec<FormField>,
}

impl Intent {
    /// A new intent in its quadrant, with no phrases yet.
    pub fn new(name: impl Into<String>, customer_value: Value, organisation_value: Value) -> Self {
        Intent {
            name: name.into(),
            customer_value,
            organisation_value,
            cost_per_contact: 0.0,
            articles: Vec::new(),
            skills: Vec::new(),
            phrases: BTreeMap::new(),
            form: Vec::new(),
        }
    }

    /// The quadrant's disposition.
    pub fn disposition(&self) -> Disposition {
        Disposition::of(self.customer_value, self.organisation_value)
    }

    /// Sets the cost per contact.
    pub fn cost(mut self, cost: f64) -> Self {
        self.cost_per_contact = cost;
        self
    }

    /// Adds a help article.
    pub fn article(mut self, article: impl Into<String>) -> Self {
        self.articles.push(article.into());
        self
    }

    /// Adds a required skill with its minimum level.
    pub fn skill(mut self, skill: impl Into<String>, min_level: u8) -> Self {
        self.skills.push((skill.into(), min_level));
        self
    }

    /// Adds phrases for a language (`"*"` for any).
    pub fn phrases(mut self, language: &str, phrases: &[&str]) -> Self {
        self.phrases
            .entry(language.to_string())
            .or_default()
            .extend(phrases.iter().map(|p| p.to_string()));
        self
    }

    /// Adds a form field for the automated flow.
    pub fn field(
        mut self,
        name: impl Into<String>,
        question: impl Into<String>,
        accept: Accept,
    ) -> Self {
        self.form.push(FormField {
            name: name.into(),
            question: question.into(),
            accept,
        });
        self
    }
}

/// The host's intent catalogue.
///
/// ```
/// use throughline::triage::{Disposition, Intent, IntentCatalogue, Value};
/// let catalogue = IntentCatalogue::new()
///     .with(Intent::new("order_status", Value::High, Value::Low)
///         .article("kb/where-is-my-order")
///         .phrases("en", &["where is my order", "tracking"])
///         .phrases("nl", &["waar is mijn pakket"]))?;
/// assert_eq!(catalogue.get("order_status").unwrap().disposition(), Disposition::SelfService);
/// # Ok::<(), throughline::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IntentCatalogue {
    intents: Vec<Intent>,
    /// The help centre's articles by id: what the bot names and links.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    articles: BTreeMap<String, Article>,
    /// The bot's deflection message per language code, `{articles}` where the list goes
    /// (the built-in texts of [`deflection_text`] otherwise).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    deflection: BTreeMap<String, String>,
}

/// A help article as the bot shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    /// Its title.
    pub title: String,
    /// Where to read it (http or https).
    pub url: String,
}

/// The built-in deflection message for a language code, `{articles}` where the list
/// goes; English for a language without one.
pub fn deflection_text(language: Option<&str>) -> &'static str {
    match language {
        Some("nl") => "Deze artikelen beantwoorden je vraag misschien:\n{articles}\nNog hulp nodig? Antwoord gewoon, dan neemt een medewerker het over.",
        Some("de") => "Diese Artikel beantworten Ihre Frage vielleicht:\n{articles}\nBrauchen Sie weitere Hilfe? Antworten Sie einfach, dann übernimmt ein Mitarbeiter.",
        Some("fr") => "Ces articles répondent peut-être à votre question :\n{articles}\nBesoin d'aide ? Répondez simplement et une personne prendra le relais.",
        Some("es") => "Estos artículos pueden responder a tu pregunta:\n{articles}\n¿Necesitas más ayuda? Responde y una persona te atenderá.",
        _ => "These articles may answer your question:\n{articles}\nStill need help? Just reply and a person will take over.",
    }
}

impl IntentCatalogue {
    /// An empty catalogue (no triage).
    pub fn new() -> Self {
        IntentCatalogue::default()
    }

    /// Adds an intent.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an empty or duplicate name, a negative or non-finite cost,
    /// or a skill level outside 1-10.
    pub fn with(mut self, intent: Intent) -> Result<Self> {
        self.add(intent)?;
        Ok(self)
    }

    /// Adds an intent (see [`IntentCatalogue::with`]).
    ///
    /// # Errors
    ///
    /// As [`IntentCatalogue::with`].
    pub fn add(&mut self, intent: Intent) -> Result<()> {
        if intent.name.trim().is_empty() {
            return Err(Error::invalid("intent", "the name is empty"));
        }
        if self.get(&intent.name).is_some() {
            return Err(Error::invalid(
                "intent",
                format!("{:?} is defined twice", intent.name),
            ));
        }
        if !intent.cost_per_contact.is_finite() || intent.cost_per_contact < 0.0 {
            return Err(Error::invalid(
                "intent",
                format!("{:?}: the cost must be a non-negative number", intent.name),
            ));
        }
        if let Some((s, l)) = intent.skills.iter().find(|(_, l)| !(1..=10).contains(l)) {
            return Err(Error::invalid(
                "intent",
                format!("{:?}: skill {s:?} level {l} is outside 1-10", intent.name),
            ));
        }
        self.intents.push(intent);
        Ok(())
    }

    /// Registers a help article's title and link, so that the bot's message names and
    /// links it instead of showing its id.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an empty id or title (or over 300 characters), or a URL
    /// that is not http(s).
    pub fn article(
        mut self,
        id: impl Into<String>,
        title: impl Into<String>,
        url: impl Into<String>,
    ) -> Result<Self> {
        let (id, title, url) = (id.into(), title.into(), url.into());
        let bad = |why: String| Err(Error::invalid("article", why));
        if id.trim().is_empty() || title.trim().is_empty() || title.chars().count() > 300 {
            return bad(format!(
                "{id:?}: an id and a title of at most 300 characters"
            ));
        }
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !scheme_ok || url.len() > 2048 || url.chars().any(char::is_whitespace) {
            return bad(format!("{id:?}: {url:?} is not an http(s) URL"));
        }
        self.articles.insert(id, Article { title, url });
        Ok(self)
    }

    /// The registered article with this id.
    pub fn article_info(&self, id: &str) -> Option<&Article> {
        self.articles.get(id)
    }

    /// Sets the bot's deflection message for a language code (`{articles}` where the
    /// list goes), replacing the built-in one.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a text without `{articles}` or over 2,000 characters.
    pub fn deflection(mut self, language: &str, text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        if !text.contains("{articles}") || text.chars().count() > 2000 {
            return Err(Error::invalid(
                "deflection",
                format!("the {language} text must hold {{articles}} and fit 2,000 characters"),
            ));
        }
        self.deflection.insert(language.to_string(), text);
        Ok(self)
    }

    /// The bot's message offering `articles` to a customer writing in `language`: the
    /// tenant's text for it, else the built-in one; each article on its own line with
    /// its title and link when registered, else its id.
    pub fn deflection_message(&self, articles: &[String], language: Option<&str>) -> String {
        let template = language
            .and_then(|l| self.deflection.get(l))
            .map_or_else(|| deflection_text(language), String::as_str);
        let list: Vec<String> = articles
            .iter()
            .map(|id| match self.articles.get(id) {
                Some(a) => format!("• {}: {}", a.title, a.url),
                None => format!("• {id}"),
            })
            .collect();
        template.replace("{articles}", &list.join("\n"))
    }

    /// The intent with this name.
    pub fn get(&self, name: &str) -> Option<&Intent> {
        self.intents.iter().find(|i| i.name == name)
    }

    /// Every intent, in the order added.
    pub fn intents(&self) -> &[Intent] {
        &self.intents
    }

    /// Whether there is nothing to triage with.
    pub fn is_empty(&self) -> bool {
        self.intents.is_empty()
    }
}
