//! The demo's temporary data directory when no `--data-dir` is given: one per process
//! (`ecosystem-perf-demo-<pid>` under the system's temporary directory), removed when the
//! demo ends. A demo ended by SIGKILL (or a crash) cannot remove its own, and each holds
//! the store of everything it played (≈ 140 MB after a few accelerated minutes), so a demo
//! starting removes the directories of demos that are no longer running: a process id
//! that no longer exists in `/proc`. A directory whose id is alive (another demo, or an
//! unrelated process that reused the id) is left alone; off Linux nothing is swept.

use std::path::{Path, PathBuf};

const PREFIX: &str = "ecosystem-perf-demo-";

/// This process's demo directory under `temp`.
pub fn directory(temp: &Path) -> PathBuf {
    temp.join(format!("{PREFIX}{}", std::process::id()))
}

/// Removes the directories under `temp` left by demos whose process is gone; returns how
/// many were removed. Errors (a directory another user owns, a race with its removal) are
/// skipped: the sweep is housekeeping, never a reason not to start.
pub fn remove_leftovers(temp: &Path) -> usize {
    if !Path::new("/proc/self").exists() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(temp) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir())
            && std::fs::remove_dir_all(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_ended_demos_go_and_running_ones_stay() {
        let temp = tempfile::tempdir().unwrap();
        // A process that has ended: its id is free (until reused, which makes it "alive"
        // and merely skipped).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let ended = child.id();
        child.wait().unwrap();
        let gone = temp.path().join(format!("{PREFIX}{ended}"));
        std::fs::create_dir_all(gone.join("data")).unwrap();
        std::fs::write(gone.join("data/store.db"), b"x").unwrap();
        let mine = directory(temp.path());
        std::fs::create_dir_all(&mine).unwrap();
        let parent = temp
            .path()
            .join(format!("{PREFIX}{}", std::os::unix::process::parent_id()));
        std::fs::create_dir_all(&parent).unwrap();
        let unrelated = temp.path().join(format!("{PREFIX}notanumber"));
        std::fs::create_dir_all(&unrelated).unwrap();
        let ended_alive = Path::new(&format!("/proc/{ended}")).exists();
        assert_eq!(remove_leftovers(temp.path()), usize::from(!ended_alive));
        assert_eq!(gone.exists(), ended_alive);
        assert!(mine.exists() && parent.exists() && unrelated.exists());
    }
}
