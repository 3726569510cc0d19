//! The overview with the decisions folded in: each service's degradation level and the worst
//! status and open alerts of its SLOs, as of the last cycle. Reads only.

use super::decisions::Memory;
use crate::answers::Answers;
use crate::durable::Durable;
use perf_core::report::Overview;

/// The overview of the last `window` at the durable layer's "now" (its counts from the
/// answer cache while the data is unchanged).
pub fn current(d: &Durable, m: &Memory, answers: &Answers, window: i64) -> Overview {
    let now = d.now();
    let mut ov = answers.overview(&d.engine(), now, window);
    let decisions = m.decisions();
    for s in &mut ov.services {
        s.degradation_level = decisions.policy.level(&s.service);
        if let Some(statuses) = &decisions.slos {
            let (status, open) = super::slos::service_summary(statuses, &s.service);
            s.slo_status = status;
            s.open_alerts = open;
        }
    }
    ov
}
