//! Replays the committed fuzz corpus (`fuzz/corpus/TARGET/*`) through every target, so what
//! the fuzzer found once is checked on every run without a fuzzer. Each target must have a
//! corpus, and every file must pass without a panic.

use std::path::Path;

#[test]
fn every_corpus_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut total = 0;
    for (name, target) in perf_fuzz::TARGETS {
        let dir = root.join(name);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (every target keeps a corpus)", dir.display()));
        let mut files = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name}: {} panics", path.display());
            files += 1;
        }
        assert!(files > 0, "{name} has an empty corpus");
        total += files;
    }
    eprintln!("{total} corpus inputs replayed");
}
