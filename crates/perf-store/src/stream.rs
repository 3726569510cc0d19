//! The replicated ingest log of a cluster: a NATS JetStream stream (`PERF_EVENTS`) whose
//! subjects are partitions, `perf.events.<p>` with `p = hash(service) mod P`.
//!
//! A replica publishes each accepted batch, split by partition, and answers only after
//! JetStream acknowledged every part (stored on a quorum of the stream's replicas). A part
//! carries `Nats-Msg-Id` when the client gave an idempotency key, so a retried batch within
//! the stream's duplicate window is stored once. The aggregates are built by *following* the
//! stream: [`EventStream::follow`] replays everything after a snapshot's stream sequence,
//! then keeps applying new records as they arrive, in stream order. The local ingest log is
//! not used in this mode; the snapshot's position is a stream sequence. A follower follows
//! every partition, or one (the partitions a replica owns, each from its own snapshot's
//! sequence); each is a [`Follower`] with its own position, stopped when dropped.
//!
//! Debian's `nats-server` is 2.9: the client is built without its 2.10/2.11 features (a
//! consumer has one filter subject), and the tests run against that server.
//!
//! Like [`crate::PostgresStore`], the stream owns a small runtime (`bridge.rs`): its callers
//! are the server's blocking ingest path and its start-up.

use crate::bridge::Bridge;
use crate::StoreError;
use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long a follower may see no record while the stream holds more before it starts over.
const STALL_CHECK: Duration = Duration::from_secs(3);

/// What a publish that failed after sending may have done.
const MAYBE_STORED: &str = "no acknowledgement from JetStream (the batch may still be stored: retry with the same Idempotency-Key to have it counted once)";

/// Subjects are `perf.events.<partition>`.
pub const SUBJECT_PREFIX: &str = "perf.events";

/// Where the stream is and how it is laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    /// `nats://host:port` (several, comma-separated, for a cluster).
    pub url: String,
    /// Stream name.
    pub stream: String,
    /// Partitions (subjects).
    pub partitions: u32,
    /// Copies JetStream keeps of each record (1, or 3 on a 3-node cluster).
    pub replicas: usize,
    /// How long records are kept (ms); a snapshot older than this cannot be replayed from.
    pub max_age_ms: i64,
    /// Window (ms) in which a record with the same message id is stored once.
    pub duplicate_window_ms: i64,
}

/// Called with each record's stream sequence and payload, in order.
pub type Apply = Box<dyn FnMut(u64, &[u8]) + Send>;

/// A connection to the ingest stream.
pub struct EventStream {
    bridge: Bridge,
    client: async_nats::Client,
    js: jetstream::Context,
    config: StreamConfig,
}

/// Where one follower stands.
#[derive(Default)]
struct Position {
    /// The last stream sequence applied, and its waiters.
    applied: (Mutex<u64>, Condvar),
    /// Why the follower stopped, if it did.
    failure: Mutex<Option<String>>,
    /// Set when the follower is stopped or dropped: aborting its task takes effect at the
    /// task's next await, so a record it already holds is checked against this before it is
    /// applied — nothing published after `stop` or `drop` returned is applied.
    stopped: std::sync::atomic::AtomicBool,
}

/// A follower of the whole stream or of one partition: applies records in the background
/// until dropped (or [`Follower::stop`]ped; a record being applied is finished first).
pub struct Follower {
    position: Arc<Position>,
    task: tokio::task::JoinHandle<()>,
    partition: Option<u32>,
}

fn nats_error(context: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Stream(format!("{context}: {e}"))
}

impl EventStream {
    /// Connects and creates the stream if it does not exist (an existing one keeps its
    /// settings; a different partition layout is refused).
    pub fn connect(config: StreamConfig) -> Result<Self, StoreError> {
        let bridge = Bridge::new("perf-stream", 2)?;
        let c = config.clone();
        let (client, js) = bridge.run(async move {
            // Once connected, the client reconnects by itself; a first connection that
            // fails is an error at start (the supervisor restarts the replica).
            let options =
                async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(5));
            let servers: Vec<async_nats::ServerAddr> = c
                .url
                .split(',')
                .map(|u| u.trim().parse())
                .collect::<Result<_, _>>()
                .map_err(|e| nats_error("the NATS url", e))?;
            let client = tokio::time::timeout(Duration::from_secs(10), options.connect(servers))
                .await
                .map_err(|_| nats_error("connecting to NATS", "no server answered within 10 s"))?
                .map_err(|e| nats_error("connecting to NATS", e))?;
            let js = jetstream::new(client.clone());
            let wanted = stream::Config {
                name: c.stream.clone(),
                subjects: vec![format!("{SUBJECT_PREFIX}.*")],
                num_replicas: c.replicas,
                max_age: Duration::from_millis(c.max_age_ms as u64),
                duplicate_window: Duration::from_millis(c.duplicate_window_ms as u64),
                storage: stream::StorageType::File,
                ..Default::default()
            };
            // A NATS cluster electing its JetStream leader (a node just restarted) answers
            // nothing for a few seconds: keep asking for up to 30 s.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                match js.get_or_create_stream(wanted.clone()).await {
                    Ok(_) => break,
                    // Another stream on this NATS takes the subjects: waiting will not help.
                    Err(e) if e.to_string().contains("subjects overlap") => {
                        return Err(nats_error(
                            "creating the stream",
                            format!("another stream on this NATS already takes {SUBJECT_PREFIX}.* ({e}); one ingest stream per NATS: use its name in cluster.nats.stream, or delete the other"),
                        ))
                    }
                    Err(e) if tokio::time::Instant::now() < deadline => {
                        tracing::warn!(error = %e, "the ingest stream does not answer yet; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => return Err(nats_error("creating the stream", e)),
                }
            }
            Ok((client, js))
        })?;
        Ok(EventStream {
            bridge,
            client,
            js,
            config,
        })
    }

    /// The partition of a key (the service): FNV-1a, stable across versions and machines.
    pub fn partition(&self, key: &str) -> u32 {
        partition_of(key, self.config.partitions)
    }

    /// Publishes `parts` (partition, payload) and waits until JetStream stored every one;
    /// answers the stream sequence of each part (partition, sequence). With `id`, each part's message id is
    /// `id/partition`, so the same batch published again is stored once.
    ///
    /// Not connected: refused before anything is sent. Once sent, a failure (no
    /// acknowledgement in time) does not prove the batch was not stored — the client may
    /// have buffered it across a reconnect — so the error says so: a retry with the same
    /// `id` is counted once.
    pub fn publish(
        &self,
        parts: Vec<(u32, Vec<u8>)>,
        id: Option<&str>,
    ) -> Result<Vec<(u32, u64)>, StoreError> {
        if !self.connected() {
            return Err(StoreError::Stream(
                "not connected to NATS; nothing of the batch was stored".into(),
            ));
        }
        let js = self.js.clone();
        let id = id.map(str::to_string);
        self.run(async move {
            let mut acks = Vec::with_capacity(parts.len());
            for (p, payload) in parts {
                let subject = format!("{SUBJECT_PREFIX}.{p}");
                let sent = match &id {
                    Some(id) => {
                        let mut headers = async_nats::HeaderMap::new();
                        headers.insert("Nats-Msg-Id", format!("{id}/{p}").as_str());
                        js.publish_with_headers(subject, headers, payload.into())
                            .await
                    }
                    None => js.publish(subject, payload.into()).await,
                };
                acks.push((p, sent.map_err(|e| nats_error(MAYBE_STORED, e))?));
            }
            let mut stored = Vec::with_capacity(acks.len());
            for (p, ack) in acks {
                let ack = ack.await.map_err(|e| nats_error(MAYBE_STORED, e))?;
                stored.push((p, ack.sequence));
            }
            Ok(stored)
        })
    }

    /// Applies every record after `after` — of every partition, or of `partition` only —
    /// through `apply` until the end as of now, then returns and keeps applying new records
    /// in the background. Refuses a stream that no longer holds the records right after
    /// `after` (aged out or recreated).
    pub fn follow(
        &self,
        partition: Option<u32>,
        after: u64,
        mut apply: Apply,
    ) -> Result<Follower, StoreError> {
        let (first, last) = self.bounds()?;
        check_position(&self.config.stream, after, first, last)?;
        let end = match partition {
            None => last,
            Some(p) => self.last_of(p)?,
        };
        let position = Arc::new(Position::default());
        *position.applied.0.lock().unwrap_or_else(|p| p.into_inner()) = after;
        let js = self.js.clone();
        let name = self.config.stream.clone();
        let pos = Arc::clone(&position);
        let task = self.bridge.spawn(async move {
            // A follower ends when its (ephemeral) consumer is lost — a NATS restart, a
            // leader change: a new one resumes after the last record applied. Only records
            // missing from the stream stop it for good.
            let mut pause = Duration::from_millis(200);
            loop {
                if pos.stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let resume = *pos.applied.0.lock().unwrap_or_else(|p| p.into_inner());
                match follow_from(&js, &name, partition, resume, &mut apply, &pos).await {
                    Err(e @ StoreError::LogGap(_)) => {
                        tracing::error!(error = %e, "the stream follower stopped; the aggregates no longer follow the ingest stream");
                        *pos.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                        pos.applied.1.notify_all();
                        return;
                    }
                    Err(e) => {
                        let progressed =
                            *pos.applied.0.lock().unwrap_or_else(|p| p.into_inner()) > resume;
                        if progressed {
                            pause = Duration::from_millis(200);
                        }
                        tracing::warn!(error = %e, ?partition, retry_in_ms = pause.as_millis() as u64, "the stream follower lost its consumer; resuming after the last record applied");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(5));
                    }
                    Ok(()) => {}
                }
            }
        });
        let follower = Follower {
            position,
            task,
            partition,
        };
        if end > after && !follower.wait_applied(end, Duration::MAX) {
            return Err(StoreError::Stream(
                follower
                    .failure()
                    .unwrap_or_else(|| "replay stopped".into()),
            ));
        }
        Ok(follower)
    }

    /// The sequence of the last record of partition `p` (0 when it has none).
    pub fn last_of(&self, p: u32) -> Result<u64, StoreError> {
        let js = self.js.clone();
        let name = self.config.stream.clone();
        self.run(async move { last_of_partition(&js, &name, p).await })
    }

    /// The stream's first and last sequence numbers now (a request to NATS).
    pub fn bounds(&self) -> Result<(u64, u64), StoreError> {
        let js = self.js.clone();
        let name = self.config.stream.clone();
        self.run(async move {
            let mut s = js
                .get_stream(&name)
                .await
                .map_err(|e| nats_error("opening the stream", e))?;
            let info = s
                .info()
                .await
                .map_err(|e| nats_error("reading the stream's state", e))?;
            Ok((info.state.first_sequence, info.state.last_sequence))
        })
    }

    /// True while the client is connected to a NATS server (it reconnects by itself).
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// The stream's layout.
    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    fn run<T: Send + 'static>(
        &self,
        f: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.bridge.run(f)
    }
}

impl Follower {
    /// The last stream sequence applied.
    pub fn applied(&self) -> u64 {
        *self
            .position
            .applied
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The partition it follows (`None`: every one).
    pub fn partition(&self) -> Option<u32> {
        self.partition
    }

    /// Waits until the record at `seq` is applied; false on timeout or a stopped follower.
    pub fn wait_applied(&self, seq: u64, timeout: Duration) -> bool {
        let (lock, changed) = &self.position.applied;
        let deadline = std::time::Instant::now().checked_add(timeout);
        let mut at = lock.lock().unwrap_or_else(|p| p.into_inner());
        while *at < seq {
            if self.failure().is_some() || self.task.is_finished() {
                return false;
            }
            let wait = match deadline {
                Some(d) => match d.checked_duration_since(std::time::Instant::now()) {
                    Some(left) => left.min(Duration::from_millis(200)),
                    None => return false,
                },
                None => Duration::from_millis(200),
            };
            at = changed
                .wait_timeout(at, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }

    /// Why the follower stopped, if it did.
    pub fn failure(&self) -> Option<String> {
        self.position
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops following (after the record being applied, if any).
    pub fn stop(&self) {
        self.position
            .stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.task.abort();
    }

    /// True once the follower's task ended (stopped, or failed for good).
    pub fn is_stopped(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The sequence of the last record of partition `p` (0 when it has none).
async fn last_of_partition(js: &jetstream::Context, name: &str, p: u32) -> Result<u64, StoreError> {
    let s = js
        .get_stream_no_info(name)
        .await
        .map_err(|e| nats_error("opening the stream", e))?;
    match s
        .get_last_raw_message_by_subject(&format!("{SUBJECT_PREFIX}.{p}"))
        .await
    {
        Ok(m) => Ok(m.sequence),
        Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => Ok(0),
        Err(e) => Err(nats_error("reading a partition's last record", e)),
    }
}

/// Applies the stream's records after `after` until the consumer fails; a stream that no
/// longer holds the record right after `after` is a [`StoreError::LogGap`].
async fn follow_from(
    js: &jetstream::Context,
    name: &str,
    partition: Option<u32>,
    after: u64,
    apply: &mut Apply,
    position: &Position,
) -> Result<(), StoreError> {
    let applied = &position.applied;
    let mut s = js
        .get_stream(name)
        .await
        .map_err(|e| nats_error("opening the stream", e))?;
    let state = s
        .info()
        .await
        .map_err(|e| nats_error("reading the stream's state", e))?
        .state
        .clone();
    check_position(name, after, state.first_sequence, state.last_sequence)?;
    let deliver_policy = if after == 0 {
        consumer::DeliverPolicy::All
    } else {
        consumer::DeliverPolicy::ByStartSequence {
            start_sequence: after + 1,
        }
    };
    let follower = s
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy,
            filter_subject: match partition {
                None => format!("{SUBJECT_PREFIX}.>"),
                Some(p) => format!("{SUBJECT_PREFIX}.{p}"),
            },
            ..Default::default()
        })
        .await
        .map_err(|e| nats_error("creating the follower", e))?;
    let mut messages = follower
        .messages()
        .await
        .map_err(|e| nats_error("following the stream", e))?;
    // A consumer can stall without an error after the NATS cluster moved the stream's
    // leader: when no record came for a while and the stream holds records past the last
    // one applied, the follower starts over from there.
    let mut check = tokio::time::interval(STALL_CHECK);
    check.tick().await;
    let mut quiet = true;
    loop {
        let message = tokio::select! {
            m = messages.next() => m,
            _ = check.tick() => {
                if quiet {
                    let last = match partition {
                        None => s
                            .info()
                            .await
                            .map_err(|e| nats_error("reading the stream's state", e))?
                            .state
                            .last_sequence,
                        Some(p) => last_of_partition(js, name, p).await?,
                    };
                    let at = *applied.0.lock().unwrap_or_else(|p| p.into_inner());
                    if last > at {
                        return Err(nats_error(
                            "following the stream",
                            format!("no record for {STALL_CHECK:?} while the stream holds {} more", last - at),
                        ));
                    }
                }
                quiet = true;
                continue;
            }
        };
        let Some(message) = message else { break };
        quiet = false;
        let message = message.map_err(|e| nats_error("following the stream", e))?;
        let seq = message
            .info()
            .map_err(|e| nats_error("reading a record's position", e))?
            .stream_sequence;
        let (lock, changed) = applied;
        if seq <= *lock.lock().unwrap_or_else(|p| p.into_inner()) {
            continue; // delivered again after a resume
        }
        if position.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        apply(seq, &message.payload);
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = seq;
        changed.notify_all();
    }
    Err(nats_error("following the stream", "the subscription ended"))
}

/// A [`StoreError::LogGap`] unless the stream (holding `first..=last`) still holds the
/// record right after `after`, or ends at it.
fn check_position(name: &str, after: u64, first: u64, last: u64) -> Result<(), StoreError> {
    if last < after || (last > after && first > after + 1) {
        return Err(StoreError::LogGap(format!(
            "the aggregates are at stream sequence {after} but stream {name} holds {first}..={last}"
        )));
    }
    Ok(())
}

/// FNV-1a of `key`, mod `partitions`.
pub fn partition_of(key: &str, partitions: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % u64::from(partitions.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Nats;

    fn config(url: String) -> StreamConfig {
        StreamConfig {
            url,
            stream: "PERF_EVENTS".into(),
            partitions: 4,
            replicas: 1,
            max_age_ms: 3_600_000,
            duplicate_window_ms: 120_000,
        }
    }

    type Seen = Arc<Mutex<Vec<(u64, Vec<u8>)>>>;

    fn recorder() -> (Seen, Apply) {
        let seen: Seen = Arc::default();
        let s = Arc::clone(&seen);
        (
            seen,
            Box::new(move |seq, payload: &[u8]| s.lock().unwrap().push((seq, payload.to_vec()))),
        )
    }

    #[test]
    fn records_are_followed_in_order_and_a_retried_batch_is_stored_once() {
        let nats = Nats::start();
        let stream = EventStream::connect(config(nats.url())).unwrap();
        let (seen, apply) = recorder();
        let follower = stream.follow(None, 0, apply).unwrap();
        let parts = |n: u8| vec![(0, vec![n]), (3, vec![n, n])];
        let a = stream.publish(parts(1), Some("batch-1")).unwrap();
        let b = stream.publish(parts(1), Some("batch-1")).unwrap();
        assert_eq!(a, b, "the retry is a duplicate of the first");
        assert_eq!(a, vec![(0, 1), (3, 2)]);
        let c = stream.publish(parts(2), None).unwrap();
        assert!(follower.wait_applied(c[1].1, Duration::from_secs(10)));
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![(1, vec![1]), (2, vec![1, 1]), (3, vec![2]), (4, vec![2, 2])]
        );
    }

    #[test]
    fn a_follower_replays_after_a_position_and_refuses_a_stream_that_lost_it() {
        let nats = Nats::start();
        {
            let stream = EventStream::connect(config(nats.url())).unwrap();
            for n in 0..5u8 {
                stream.publish(vec![(1, vec![n])], None).unwrap();
            }
        }
        let stream = EventStream::connect(config(nats.url())).unwrap();
        let (seen, apply) = recorder();
        let follower = stream.follow(None, 3, apply).unwrap();
        assert_eq!(follower.applied(), 5, "follow returns once caught up");
        let seqs: Vec<u64> = seen.lock().unwrap().iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, vec![4, 5]);
        // A snapshot past the stream's end: the stream was recreated or is another one.
        let other = EventStream::connect(config(nats.url())).unwrap();
        let (_, apply) = recorder();
        let err = other.follow(None, 9, apply).err().unwrap();
        assert!(matches!(err, StoreError::LogGap(_)), "{err}");
    }

    #[test]
    fn a_partition_follower_sees_its_partition_only_and_stops_when_dropped() {
        let nats = Nats::start();
        let stream = EventStream::connect(config(nats.url())).unwrap();
        for n in 0..6u8 {
            stream
                .publish(vec![(u32::from(n % 2), vec![n])], None)
                .unwrap();
        }
        assert_eq!(stream.last_of(1).unwrap(), 6);
        assert_eq!(stream.last_of(2).unwrap(), 0, "a partition without records");
        // From sequence 2 on: the records of partition 1 after it, caught up on return.
        let (seen, apply) = recorder();
        let follower = stream.follow(Some(1), 2, apply).unwrap();
        assert_eq!(follower.applied(), 6);
        let got: Vec<(u64, Vec<u8>)> = seen.lock().unwrap().clone();
        assert_eq!(got, vec![(4, vec![3]), (6, vec![5])]);
        // Quiet on its partition while the other moves on: no restart, nothing re-applied.
        for n in 0..3u8 {
            stream.publish(vec![(0, vec![n])], None).unwrap();
        }
        let more = stream.publish(vec![(1, vec![9])], None).unwrap();
        assert!(follower.wait_applied(more[0].1, Duration::from_secs(10)));
        assert_eq!(seen.lock().unwrap().len(), 3);
        drop(follower);
        stream.publish(vec![(1, vec![10])], None).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            seen.lock().unwrap().len(),
            3,
            "a dropped follower applies nothing"
        );
    }

    #[test]
    fn partitions_are_stable_and_spread() {
        assert_eq!(partition_of("qnet", 32), partition_of("qnet", 32));
        let used: std::collections::BTreeSet<u32> = (0..200)
            .map(|i| partition_of(&format!("svc-{i}"), 8))
            .collect();
        assert_eq!(used.len(), 8);
    }

    #[test]
    fn a_second_stream_on_the_same_subjects_is_refused_at_once() {
        let nats = Nats::start();
        drop(EventStream::connect(config(nats.url())).unwrap());
        let started = std::time::Instant::now();
        let mut other = config(nats.url());
        other.stream = "OTHER".into();
        let err = EventStream::connect(other).err().unwrap();
        assert!(
            err.to_string().contains("one ingest stream per NATS"),
            "{err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not retried for 30 s"
        );
    }

    #[test]
    fn an_unreachable_nats_is_a_clear_error() {
        let err = EventStream::connect(config("nats://127.0.0.1:1".into()))
            .err()
            .unwrap();
        assert!(err.to_string().contains("connecting to NATS"), "{err}");
    }
}
