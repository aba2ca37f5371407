//! SLA clocks: business calendars, policies with targets per priority and metric, and
//! per-conversation clocks with warnings and breaches. See `docs/sla.md`.

mod calendar;
pub mod reference;

pub use calendar::{BusinessCalendar, CalendarBuilder, Endpoint};
