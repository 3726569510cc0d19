//! Fuzz target: `perf_fuzz::events_gzip`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| perf_fuzz::events_gzip(data));
