//! Fuzz target: `perf_fuzz::csv_series`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| perf_fuzz::csv_series(data));
