//! Fuzz target: `perf_fuzz::config_yaml`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| perf_fuzz::config_yaml(data));
