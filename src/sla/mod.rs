//! SLA clocks: business calendars, policies with targets per priority and metric, and
//! per-conversation clocks with warnings and breaches. See `docs/sla.md`.

mod attainment;
mod calendar;
mod clock;
mod compact;
mod policy;
pub mod reference;
pub(crate) mod step;
mod stored;

pub use attainment::{MetricAttainment, SlaAttainment, Standing};
pub use calendar::{BusinessCalendar, CalendarBuilder, Endpoint};
pub use clock::{ClockInput, ClockState, MetricClock, SlaClocks, SlaEvent, SlaEventKind};
pub use policy::{
    AuthorKind, Basis, Conditions, Metric, PolicyInput, SlaPolicies, SlaPolicy, Target,
};
pub(crate) use stored::StoredClocks;
