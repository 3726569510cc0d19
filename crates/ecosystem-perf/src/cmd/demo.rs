//! `demo`: the server on the embedded store, fed by the simulated demo ecosystem in real time
//! (or `--speed` times faster), with scripted incidents (and canary deployments, see
//! `demo_deploy`) and a one-screen live summary.
//!
//! Besides the hourly incidents, `qindex` is provisioned for a quarter of its nodes' capacity
//! at the start and its traffic doubles every hour from minute 10 (up to 3.5×): its capacity
//! plan asks for more replicas (`GET /v1/capacity/qindex/plan`) about half an hour before its
//! current headroom falls under the 30 % budget. From minute 44 to 52 of every hour one caller
//! (`caller-scraper`) adds slow, costly requests to qindex: its risk rises to high or critical.
//! Every hour at minute 20 a failover drill of `qerberos` runs (`demo_drills`): its report
//! shows the measured RTO. Cacheable operations send keys from simulated caches
//! (`perf_sim::CacheSim`): `qindex:search` is undersized and `qwallet:balance`'s TTL too
//! short, and `GET /v1/cache` says so, beside the server's own cache of overview and profile
//! answers (`ecosystem-perf:answers`, read by this summary, the stream and the API). Engine time follows the simulated clock (`clock: event`), so an
//! accelerated demo shows the same numbers a real hour would.

use crate::args::ServeArgs;
use crate::exit::{BadInput, OK};
use anyhow::Context;
use clap::Args;
use perf_server::config::ClockMode;
use perf_server::durable::LogBatch;
use perf_server::AppState;
use perf_sim::{demo_ecosystem, Generator, TrafficGrowth};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Mean requests per simulated second.
    #[arg(long, default_value_t = 400.0)]
    pub rps: f64,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stop after this many real seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration: Option<f64>,
    /// What the demo plays.
    #[arg(long, value_enum, default_value_t = Scenario::Incidents)]
    pub scenario: Scenario,
    /// Play this much history (e.g. `7d`) as fast as the machine can before the live part:
    /// the simulation starts that long ago, the evaluation cycle runs every `--fast-forward-cycle`
    /// and the deployment cycle every simulated `deploymentInterval`, and a progress line
    /// per simulated day shows the memory in use.
    /// With `--duration 0` the demo stops when it has caught up.
    #[arg(long, value_name = "DURATION")]
    pub fast_forward: Option<String>,
    /// Simulated time between evaluation cycles while fast-forwarding (e.g. `10s`, as a
    /// server at its default `evaluationInterval` would run them; each cycle costs ~15 ms).
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    pub fast_forward_cycle: String,
}

/// The demo's scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Hourly incidents, canaries, a failover drill and a growing service. The script
    /// repeats every simulated hour for as long as the demo runs; only the incidents spend
    /// the SLOs' error budgets.
    Incidents,
    /// A quiet ecosystem within its budgets (go-live `go`), an hourly error burst that
    /// turns it `no_go` and an hourly failover drill after it (`demo_golive`).
    Golive,
}

const TICK: Duration = Duration::from_millis(100);
/// Simulated time per batch while fast-forwarding.
const FAST_FORWARD_STEP: i64 = 10_000;
/// The longest history `--fast-forward` plays.
const MAX_FAST_FORWARD: i64 = 400 * 86_400_000;
const MINUTE: i64 = 60_000;
/// The service whose traffic grows.
const GROWING_SERVICE: &str = "qindex";
/// Its utilisation at the start.
const GROWING_START_UTILISATION: f64 = 0.25;

/// Runs the demo.
pub fn run(demo: &DemoArgs) -> anyhow::Result<i32> {
    let (args, speed, rps, seed, scenario) =
        (&demo.serve, demo.speed, demo.rps, demo.seed, demo.scenario);
    let fast_forward = match &demo.fast_forward {
        None => 0,
        Some(d) => perf_core::duration::parse_duration(d)
            .ok()
            .filter(|ms| (0..=MAX_FAST_FORWARD).contains(ms))
            .ok_or_else(|| {
                BadInput(format!(
                    "--fast-forward {d}: a duration such as 7d, at most 400d"
                ))
            })?,
    };
    let cycle = perf_core::duration::parse_duration(&demo.fast_forward_cycle)
        .ok()
        .filter(|ms| (1_000..=3_600_000).contains(ms))
        .ok_or_else(|| {
            BadInput(format!(
                "--fast-forward-cycle {}: a duration from 1s to 1h",
                demo.fast_forward_cycle
            ))
        })?;
    let duration = demo.duration;
    if !(speed > 0.0 && speed <= 3600.0) {
        return Err(BadInput("--speed must be in (0, 3600]".into()).into());
    }
    if !(rps > 0.0 && rps <= 100_000.0) {
        return Err(BadInput("--rps must be in (0, 100000]".into()).into());
    }
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "warn");
    }
    super::serve::init_tracing();
    let mut config = super::serve::load_config(args)?;
    let temp_dir = args.data_dir.is_none().then(|| {
        let temp = std::env::temp_dir();
        super::demo_temp::remove_leftovers(&temp);
        super::demo_temp::directory(&temp)
    });
    if let Some(dir) = &temp_dir {
        config.server.data_dir = dir.display().to_string();
    }
    config.server.clock = ClockMode::Event;
    // Evaluate about once a simulated 10 s (at most twice a real second), so an accelerated
    // demo's ladder and routing weights see its short incidents.
    config.server.evaluation_interval = ((config.server.evaluation_interval as f64 / speed) as i64)
        .clamp(500, config.server.evaluation_interval.max(500));
    match scenario {
        Scenario::Golive => {
            super::demo_golive::configure(&mut config, rps);
            if config.drills.failover.is_empty() {
                config.drills.failover = vec![super::demo_drills::failover_rule()];
            }
        }
        Scenario::Incidents => {
            if config.slos.is_empty() {
                config.slos = demo_slos();
            }
            if config.cache.spaces.is_empty() {
                config.cache.spaces = demo_cache_spaces(rps);
                config
                    .cache
                    .spaces
                    .push(perf_server::config::CacheSpaceConfig {
                        space: perf_server::answers::SPACE.into(),
                        size: Some(config.cache.answers.entries),
                        ttl: None,
                    });
            }
            // The server's own answer cache shows in /v1/cache beside the simulated ones.
            config.cache.answers.report = true;
            if config.drills.failover.is_empty() {
                config.drills.failover = vec![super::demo_drills::failover_rule()];
            }
        }
    }
    let addr = perf_server::check_exposure(&config).map_err(|e| BadInput(e.to_string()))?;
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(async move {
        let state = tokio::task::spawn_blocking(move || AppState::open(config)).await??;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let url = format!("http://{}/", listener.local_addr()?);
        let stop = Arc::new(AtomicBool::new(false));
        let caught_up = Arc::new(tokio::sync::Notify::new());
        let generator = {
            let state = state.clone();
            let playback = Playback {
                stop: stop.clone(),
                caught_up: caught_up.clone(),
                cycle,
            };
            std::thread::spawn(move || match scenario {
                Scenario::Incidents => simulate(&state, &playback, speed, rps, seed, fast_forward),
                Scenario::Golive => {
                    simulate_golive(&state, &playback, speed, rps, seed, fast_forward)
                }
            })
        };
        let summary = {
            let (state, stop, url) = (state.clone(), stop.clone(), url.clone());
            std::thread::spawn(move || live_summary(&state, &stop, &url, speed))
        };
        let stop_signal = stop.clone();
        let shutdown = async move {
            match duration {
                // The duration counts from the end of the fast-forward.
                Some(secs) => tokio::select! {
                    _ = perf_server::shutdown_signal() => {},
                    _ = async {
                        caught_up.notified().await;
                        tokio::time::sleep(Duration::from_secs_f64(secs)).await
                    } => {},
                },
                None => perf_server::shutdown_signal().await,
            }
            stop_signal.store(true, Ordering::SeqCst);
        };
        let served = perf_server::run(state, listener, shutdown).await;
        stop.store(true, Ordering::SeqCst);
        let _ = generator.join();
        let _ = summary.join();
        served
    });
    if let Some(dir) = temp_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    result?;
    Ok(OK)
}

/// The sizes and TTLs of the demo's simulated caches, as an operator would configure them
/// (`cache.spaces`): the cache advice compares its findings with them.
fn demo_cache_spaces(rps: f64) -> Vec<perf_server::config::CacheSpaceConfig> {
    demo_ecosystem(rps)
        .services
        .iter()
        .flat_map(|s| s.operations.iter())
        .filter_map(|o| o.cache_model.as_ref())
        .map(|c| perf_server::config::CacheSpaceConfig {
            space: c.space.clone(),
            size: Some(c.size as u64),
            ttl: Some(c.ttl_ms),
        })
        .collect()
}

/// The SLOs the demo watches when no configuration gives any: the scripted qwallet error
/// burst pages and resolves; per-tenant qflow availability shows the DAO instances; the
/// `browse-and-pay` journey is a composite of the feed's latency and the wallet (a key step:
/// its burst fails the journey).
fn demo_slos() -> Vec<perf_server::config::slo::SloConfig> {
    let yaml = "
- {name: qwallet-availability, service: qwallet, sli: availability, objective: 99.9, window: 30d}
- {name: qnet-feed-latency, service: qnet, operation: GET /feed, sli: latency, thresholdMs: 200, objective: 99}
- {name: qflow-availability, service: qflow, sli: availability, objective: 99.5, perTenant: true, window: {calendar: month}}
- {name: browse-and-pay, kind: composite, objective: 98, window: 28d, members: [{slo: qnet-feed-latency}, {slo: qwallet-availability, key: true}]}
";
    serde_yaml_ng::from_str(yaml).expect("the demo SLOs parse")
}

/// Feeds the engine through the durable ingest path, paced to `speed`.
fn simulate(
    state: &AppState,
    playback: &Playback,
    speed: f64,
    rps: f64,
    seed: u64,
    fast_forward: i64,
) {
    let start = perf_server::durable::system_now() - fast_forward;
    let mut generator = Generator::new(demo_ecosystem(rps), seed, start);
    let growing = demo_ecosystem(rps)
        .services
        .into_iter()
        .find(|s| s.name == GROWING_SERVICE)
        .expect("the demo ecosystem has qindex");
    generator.provision(GROWING_SERVICE, GROWING_START_UTILISATION);
    generator.add_incident(Box::new(TrafficGrowth {
        service: GROWING_SERVICE.into(),
        share: growing.share,
        from_ms: 10 * MINUTE,
        doubling_ms: 60 * MINUTE,
        max_factor: 3.5,
    }));
    // The hourly script, repeated for as long as the demo runs.
    perf_sim::add_hourly_incidents(&mut generator);
    let mut deployments = super::demo_deploy::Deployments::schedule(&mut generator);
    let mut drills =
        super::demo_drills::Drills::schedule(&mut generator, super::demo_drills::START_MINUTE);
    play(
        state,
        playback,
        speed,
        start,
        &mut generator,
        |state, elapsed| {
            deployments.tick(state, elapsed);
            drills.tick(state, elapsed);
        },
    );
}

/// The go-live scenario: the quiet ecosystem and its hourly error bursts.
fn simulate_golive(
    state: &AppState,
    playback: &Playback,
    speed: f64,
    rps: f64,
    seed: u64,
    fast_forward: i64,
) {
    let start = perf_server::durable::system_now() - fast_forward;
    let mut generator = Generator::new(super::demo_golive::ecosystem(rps), seed, start);
    super::demo_golive::schedule(&mut generator);
    let mut drills =
        super::demo_drills::Drills::schedule(&mut generator, super::demo_golive::DRILL_MINUTE);
    play(
        state,
        playback,
        speed,
        start,
        &mut generator,
        |state, elapsed| drills.tick(state, elapsed),
    );
}

/// Feeds the generator's events and resource samples through the durable ingest path: first,
/// when the simulation starts in the past (`--fast-forward`), unpaced until it has caught up
/// with the wall clock; then in ticks paced to `speed`. Calls `each_tick` with the simulated
/// time since `start`.
fn play(
    state: &AppState,
    playback: &Playback,
    speed: f64,
    start: i64,
    generator: &mut Generator,
    mut each_tick: impl FnMut(&AppState, i64),
) {
    let mut resources = ResourcePacer::default();
    let mut ingesting = true;
    if generator.now_ms() < perf_server::durable::system_now() {
        let mut progress = super::demo_fast_forward::Progress::new(start);
        let (mut evaluation_due, mut deployment_due) = (start, start);
        while !playback.stopped() && generator.now_ms() < perf_server::durable::system_now() {
            if !step(state, generator, FAST_FORWARD_STEP, &mut resources) {
                ingesting = false;
                break;
            }
            each_tick(state, generator.now_ms() - start);
            if generator.now_ms() >= evaluation_due {
                state.run_cycle();
                evaluation_due = generator.now_ms() + playback.cycle;
            }
            if generator.now_ms() >= deployment_due {
                state
                    .control
                    .run_deployment_cycle(&state.durable, &state.effects);
                deployment_due =
                    generator.now_ms() + state.config().server.deployment_interval.max(1000);
            }
            progress.observe(state, generator.now_ms());
        }
        progress.finish(state, generator.now_ms());
    }
    // Also when ingest failed: `--duration` then still ends the demo.
    playback.caught_up.notify_one();
    if !ingesting {
        return;
    }
    let sim_tick = (TICK.as_secs_f64() * 1000.0 * speed).round().max(1.0) as i64;
    let began = Instant::now();
    let mut ticks = 0u32;
    while !playback.stopped() {
        if !step(state, generator, sim_tick, &mut resources) {
            return;
        }
        each_tick(state, generator.now_ms() - start);
        ticks += 1;
        let due = began + TICK * ticks;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

/// What the generator thread shares with the server: the stop flag, and the signal that
/// the fast-forward (if any) has caught up with the wall clock.
struct Playback {
    stop: Arc<AtomicBool>,
    caught_up: Arc<tokio::sync::Notify>,
    /// Simulated ms between evaluation cycles while fast-forwarding.
    cycle: i64,
}

impl Playback {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Resource samples every 5 simulated seconds.
#[derive(Default)]
struct ResourcePacer {
    since: i64,
}

/// Commits the next `sim_ms` of events (and resource samples when due); false when ingest
/// has stopped.
fn step(
    state: &AppState,
    generator: &mut Generator,
    sim_ms: i64,
    resources: &mut ResourcePacer,
) -> bool {
    let events = generator.next_events(sim_ms);
    {
        // The simulator's memory shows in the server's accounting as `simulator`.
        let bytes = generator.heap_bytes() as u64;
        let mut beside = state
            .memory_beside
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match beside.get_mut("simulator") {
            Some(held) => *held = bytes,
            None => {
                beside.insert("simulator".into(), bytes);
            }
        }
    }
    if !events.is_empty() {
        if let Err(e) = state.durable.commit(LogBatch::Events(events)) {
            if !state.durable.is_shutting_down() {
                tracing::warn!(error = %e, "demo ingest stopped");
            }
            return false;
        }
    }
    resources.since += sim_ms;
    if resources.since >= 5_000 {
        let samples = generator.resources(resources.since);
        let _ = state.durable.commit(LogBatch::Resources(samples));
        resources.since = 0;
    }
    true
}

/// Redraws the overview every two seconds (or prints a line every ten when not a terminal).
fn live_summary(state: &AppState, stop: &AtomicBool, url: &str, speed: f64) {
    let tty = std::io::stdout().is_terminal();
    println!("ecosystem-perf demo: dashboard at {url}  (API: {url}v1/overview, Ctrl-C to stop)");
    let every = if tty {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(10)
    };
    let mut last = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        if last.elapsed() < every {
            continue;
        }
        last = Instant::now();
        let now = state.durable.now();
        let overview = state.answers.overview(&state.durable.engine(), now, MINUTE);
        let header = format!(
            "ecosystem-perf demo · {url} · simulated {} · speed ×{speed}",
            perf_core::time::format_rfc3339(now)
        );
        if tty {
            print!(
                "\x1b[2J\x1b[H{header}\n{}\n",
                crate::tables::overview(&overview)
            );
        } else {
            let total: f64 = overview.services.iter().map(|s| s.rps).sum();
            println!(
                "{header} · {} services · {total:.0} rps",
                overview.services.len()
            );
        }
    }
}
