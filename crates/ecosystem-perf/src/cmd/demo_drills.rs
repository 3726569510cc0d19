//! The demo's recovery drill: every hour at minute 20 (50 in `--scenario golive`, after its
//! error burst), a failover drill of `qerberos` starts
//! and the service fails (60 % errors) for two minutes while it "fails over", then serves
//! normally again. The drills stage measures it: `GET /v1/drills/{id}` (or `ecosystem-perf
//! drill show`) reports an RTO of about two minutes against the 5-minute target, the impact
//! and the recovery gate (against a baseline of the quarter hour before the first drill); the
//! demo's failover trigger (`qerberos` error rate ≥ 30 % for a
//! minute) raises `EcosystemPerfFailover` during the failure.

use perf_core::drill::{DrillKind, FailoverRule};
use perf_server::control::drills::{self, DrillRequest};
use perf_server::AppState;
use perf_sim::{ErrorBurst, Generator, Repeating};

const MINUTE: i64 = 60_000;
/// The drilled service (no other scripted incident touches it before minute 33).
pub const SERVICE: &str = "qerberos";
/// The minute of the hour the default scenario's drills start at.
pub const START_MINUTE: i64 = 20;
const FAILING_MINUTES: i64 = 2;

/// The failover trigger the demo configures when the configuration has none.
pub fn failover_rule() -> FailoverRule {
    FailoverRule {
        service: SERVICE.into(),
        error_rate: Some(0.3),
        p99_ms: None,
        for_ms: MINUTE,
    }
}

/// The hourly drills (for as long as the demo runs): their failures are scheduled on the
/// generator; `tick` marks them.
pub struct Drills {
    next_hour: i64,
    start_minute: i64,
}

impl Drills {
    /// Schedules the hourly drill failure at `start_minute` of every hour.
    pub fn schedule(generator: &mut Generator, start_minute: i64) -> Self {
        let from_ms = start_minute * MINUTE;
        generator.add_incident(Box::new(Repeating::every(
            60 * MINUTE,
            ErrorBurst {
                service: SERVICE.into(),
                from_ms,
                to_ms: from_ms + FAILING_MINUTES * MINUTE,
                error_rate: 0.6,
            },
        )));
        Drills {
            next_hour: 0,
            start_minute,
        }
    }

    /// Starts the drill of the hour when its minute comes; `elapsed_ms` is simulated time
    /// since the start.
    pub fn tick(&mut self, state: &AppState, elapsed_ms: i64) {
        if elapsed_ms < self.next_hour * 60 * MINUTE + self.start_minute * MINUTE {
            return;
        }
        // The recovery gate needs a baseline: the quarter hour before the first drill.
        if self.next_hour == 0 {
            freeze_baseline(state);
        }
        let req = DrillRequest {
            service: SERVICE.into(),
            kind: DrillKind::Failover,
            id: Some(format!("demo-{SERVICE}-failover-h{}", self.next_hour)),
        };
        self.next_hour += 1;
        match drills::start(&state.durable, req) {
            Ok((_, effects)) => {
                if let Err(e) = state.apply(effects, state.durable.now()) {
                    tracing::warn!(error = %e, "demo drill start was not published");
                }
            }
            Err(e) => tracing::warn!(error = %e, "demo drill did not start"),
        }
    }
}

fn freeze_baseline(state: &AppState) {
    use perf_server::control::baselines;
    let req: Result<baselines::FreezeRequest, _> = serde_json::from_value(serde_json::json!({
        "service": SERVICE, "window": "15m", "id": format!("demo-{SERVICE}-before-drills"),
    }));
    let frozen = req
        .map_err(|e| e.to_string())
        .and_then(|r| {
            baselines::freeze(&state.durable, &r, state.durable.now()).map_err(|e| e.to_string())
        })
        .and_then(|b| baselines::add(&state.durable, &b).map_err(|e| e.to_string()));
    if let Err(e) = frozen {
        tracing::warn!(error = %e, "demo baseline for the drills was not frozen");
    }
}
