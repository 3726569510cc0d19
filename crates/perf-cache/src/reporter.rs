//! The reporter: a thread that takes the recorder's lookups every interval and hands them to
//! a [`Sink`] in batches. A batch the sink refuses is put back for the next send (as far as
//! the recorder's capacity allows; the rest is counted as dropped), so a server restart
//! loses nothing that fits. Dropping the [`Reporter`] sends what is left and ends the thread.

use crate::recorder::{Access, Identity, Recorder};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Lookups per batch at most (the server takes 50,000 events per request by default).
pub const MAX_BATCH: usize = 5_000;

/// A batch of lookups as a sink gets it.
pub struct Batch<'a> {
    /// Who made them.
    pub who: &'a Identity,
    /// The names of the spaces, by number.
    pub spaces: &'a [Arc<str>],
    /// The lookups, oldest first.
    pub accesses: &'a [Access],
}

impl Batch<'_> {
    /// The name of a lookup's space.
    pub fn space_of(&self, a: &Access) -> &str {
        self.spaces.get(a.space as usize).map_or("", |s| s)
    }
}

/// Where batches of lookups go.
pub trait Sink: Send + 'static {
    /// Sends one batch: `Ok` with how many of its lookups the receiver refused (they are
    /// not sent again), `Err` keeps the batch for the next send.
    fn send(&mut self, batch: &Batch) -> Result<usize, String>;
}

impl<F> Sink for F
where
    F: FnMut(&Batch) -> Result<usize, String> + Send + 'static,
{
    fn send(&mut self, batch: &Batch) -> Result<usize, String> {
        self(batch)
    }
}

enum Command {
    Flush(mpsc::SyncSender<()>),
}

/// The reporting thread; dropping it sends what is left and joins it.
pub struct Reporter {
    commands: Option<mpsc::Sender<Command>>,
    thread: Option<JoinHandle<()>>,
}

impl Reporter {
    /// Starts a thread sending `recorder`'s lookups to `sink` every `every`.
    pub fn spawn(recorder: Arc<Recorder>, sink: impl Sink, every: Duration) -> Reporter {
        let (tx, rx) = mpsc::channel::<Command>();
        let mut sink = sink;
        let thread = std::thread::Builder::new()
            .name("perf-cache-reporter".into())
            .spawn(move || loop {
                match rx.recv_timeout(every) {
                    Ok(Command::Flush(done)) => {
                        send_all(&recorder, &mut sink);
                        let _ = done.send(());
                    }
                    Err(RecvTimeoutError::Timeout) => send_all(&recorder, &mut sink),
                    Err(RecvTimeoutError::Disconnected) => {
                        send_all(&recorder, &mut sink);
                        return;
                    }
                }
            })
            .expect("spawning the reporter thread");
        Reporter {
            commands: Some(tx),
            thread: Some(thread),
        }
    }

    /// Sends what is buffered now and waits until the sink has answered.
    pub fn flush(&self) {
        let (done, wait) = mpsc::sync_channel(1);
        if let Some(tx) = &self.commands {
            if tx.send(Command::Flush(done)).is_ok() {
                let _ = wait.recv();
            }
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.commands.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sends everything buffered, batch by batch; on the first refusal puts the rest back.
fn send_all(recorder: &Recorder, sink: &mut impl Sink) {
    let mut pending = recorder.drain();
    let spaces = recorder.spaces();
    while !pending.is_empty() {
        let n = pending.len().min(MAX_BATCH);
        let batch = Batch {
            who: recorder.identity(),
            spaces: &spaces,
            accesses: &pending[..n],
        };
        match sink.send(&batch) {
            Ok(refused) => {
                let refused = refused.min(n);
                recorder
                    .refused
                    .fetch_add(refused as u64, Ordering::Relaxed);
                recorder
                    .reported
                    .fetch_add((n - refused) as u64, Ordering::Relaxed);
                pending.drain(..n);
            }
            Err(why) => {
                recorder.failed_sends.fetch_add(1, Ordering::Relaxed);
                recorder.set_last_error(why);
                recorder.put_back(pending);
                return;
            }
        }
    }
}
