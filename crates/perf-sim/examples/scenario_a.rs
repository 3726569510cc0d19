//! Runs scenario A once per router for a seed and prints the raw results (a development aid;
//! `ecosystem-perf simulate routing` prints the tables).
fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let s = perf_sim::des::routing_sim::ScenarioA::default();
    for k in perf_sim::des::routing_sim::RouterKind::ALL {
        let t = std::time::Instant::now();
        let r = perf_sim::des::routing_sim::run(&s, k, seed);
        println!("{r:?} in {:.1} s", t.elapsed().as_secs_f64());
    }
}
