//! Partition ownership by leases (`cluster.ownership: leases`): each replica applies an even
//! share of the stream's partitions, holding a lease `partition/<p>` in the store for each.
//!
//! Every `leaseTtl / 3` a replica renews its heartbeat lease `replica/<id>`, counts the live
//! replicas (heartbeats not expired), and aims at `ceil(P / replicas)` partitions: it renews
//! the leases it holds (one it lost is dropped at once, unsaved), hands over the ones beyond
//! its share (final snapshot, then the lease released, so a joining replica gets them on its
//! next round), and takes free or expired ones up to its share, starting at a place that
//! depends on its id so replicas do not all race for the same partitions.
//!
//! Taking a partition loads its snapshot (the services of that partition, with the stream
//! sequence they include) into the engine and replays the partition after it; snapshots are
//! written per partition, each stamped with the lease epoch, and the store refuses one whose
//! writer no longer holds the lease with that epoch (fencing in the database, not on a
//! clock). Every acknowledged event is therefore in exactly one owner's aggregates, once.

use super::cluster_map::{ClusterMap, ReplicaView};
use super::snapshot_format::{decode_snapshot, encode_snapshot};
use super::stream_ingest::StreamIngest;
use super::{Durable, Ingest};
use perf_store::stream::partition_of;
use perf_store::{partition_lease, Document, PartitionSnapshot};
use std::collections::{BTreeMap, BTreeSet};

/// The document kind under which replicas advertise their URL.
const REPLICA_DOC: &str = "replica";

/// The heartbeat lease of a replica.
fn replica_lease(id: &str) -> String {
    format!("replica/{id}")
}

impl Durable {
    fn lease_stream(&self) -> Option<&StreamIngest> {
        match &self.ingest {
            Ingest::Stream(s) if s.by_lease() => Some(s),
            _ => None,
        }
    }

    /// True when the partitions of the stream are owned by leases.
    pub fn partitioned(&self) -> bool {
        self.lease_stream().is_some()
    }

    /// The partition of a service (with the stream).
    pub fn partition_of(&self, service: &str) -> Option<u32> {
        match &self.ingest {
            Ingest::Stream(s) => Some(s.partition(service)),
            Ingest::Local(_) => None,
        }
    }

    /// Partition owners and replica URLs as the last ownership round saw them.
    pub fn cluster_map(&self) -> ClusterMap {
        self.cluster_map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records where this replica answers (its base URL), for the others to forward reads.
    pub fn advertise(&self, url: &str) -> anyhow::Result<()> {
        self.store().put_document(&Document {
            kind: REPLICA_DOC.into(),
            id: self.replica_id.clone(),
            service: String::new(),
            body: serde_json::json!({"id": self.replica_id, "url": url}).to_string(),
            at_ms: self.wall_now(),
        })?;
        self.refresh_cluster_map(self.wall_now());
        Ok(())
    }

    /// [`Durable::cluster_map`], read again from the store when it lacks an owner of a
    /// partition or a replica's URL (a partition that just changed hands). Blocking.
    pub fn cluster_map_complete(&self) -> ClusterMap {
        let map = self.cluster_map();
        let partitions = self.config.cluster.nats.partitions;
        let complete =
            (0..partitions).all(|p| map.owners.get(&p).is_some_and(|o| map.urls.contains_key(o)));
        if complete {
            return map;
        }
        self.refresh_cluster_map(self.wall_now());
        self.cluster_map()
    }

    /// Every partition's aggregates in one engine, for the evaluations that span services
    /// (tenants): this replica's own partitions as they are now, the others from their
    /// latest snapshots in the store (as old as `server.snapshotInterval` at most). Without
    /// ownership by leases, this replica's engine, which holds everything. Blocking.
    pub fn merged_engine(&self) -> anyhow::Result<perf_core::Engine> {
        let mut merged = self.engine().extract(|_| true);
        let Some(stream) = self.lease_stream() else {
            return Ok(merged);
        };
        let parts = stream.stream.config().partitions;
        let owned: BTreeSet<u32> = stream.owned().iter().map(|o| o.0).collect();
        for p in (0..parts).filter(|p| !owned.contains(p)) {
            if let Some(s) = self.store().load_partition_snapshot(p)? {
                let other = decode_snapshot(&s.data)?;
                merged.absorb(&other, |svc| partition_of(svc, parts) == p)?;
            }
        }
        Ok(merged)
    }

    /// The replicas owning partitions, for `GET /v1/cluster`.
    pub(super) fn replica_views(&self) -> Vec<ReplicaView> {
        if !self.partitioned() {
            return Vec::new();
        }
        let map = self.cluster_map();
        let mut by: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (p, owner) in &map.owners {
            by.entry(owner.clone()).or_default().push(*p);
        }
        by.into_iter()
            .map(|(id, partitions)| ReplicaView {
                url: map.urls.get(&id).cloned(),
                id,
                partitions,
            })
            .collect()
    }

    /// Reads the partition leases and the advertised URLs again.
    fn refresh_cluster_map(&self, now: i64) {
        let (Ok(leases), Ok(docs)) = (
            self.store().leases(),
            self.store().list_documents(REPLICA_DOC),
        ) else {
            return;
        };
        let live: Vec<_> = leases
            .into_iter()
            .filter(|l| l.expires_at_ms > now)
            .collect();
        let leader = live
            .iter()
            .find(|l| l.name == super::LEADER_LEASE)
            .map(|l| l.holder.clone());
        let owners = live
            .into_iter()
            .filter_map(|l| Some((l.name.strip_prefix("partition/")?.parse().ok()?, l.holder)))
            .collect();
        let urls = docs
            .iter()
            .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .filter_map(|v| {
                Some((
                    v["id"].as_str()?.to_string(),
                    v["url"].as_str()?.to_string(),
                ))
            })
            .collect();
        *self.cluster_map.lock().unwrap_or_else(|p| p.into_inner()) = ClusterMap {
            owners,
            urls,
            leader,
        };
    }

    /// True when this replica's aggregates hold `service` by ownership: always, unless its
    /// partitions are owned by leases and `service`'s is not among them.
    pub fn owns_service(&self, service: &str) -> bool {
        match self.lease_stream() {
            None => true,
            Some(s) => {
                let p = s.partition(service);
                s.owned().iter().any(|o| o.0 == p)
            }
        }
    }

    /// True when this replica writes the alert history and the webhook outbox for what it
    /// evaluates: embedded always; with every partition on every replica, the leader only;
    /// with partitions owned by leases, every replica (each evaluates its own services).
    pub fn writes_notifications(&self) -> bool {
        match &self.ingest {
            Ingest::Local(_) => true,
            Ingest::Stream(s) if s.by_lease() => true,
            Ingest::Stream(_) => self.is_leader(),
        }
    }

    /// One round of partition ownership (see the module doc). Blocking: it may replay
    /// partitions it takes.
    pub fn hold_partitions(&self) {
        let Some(stream) = self.lease_stream() else {
            return;
        };
        let _one = self.snapshot_lock.lock().unwrap_or_else(|p| p.into_inner());
        if self.is_shutting_down() {
            return;
        }
        self.ownership_round(stream);
        self.refresh_cluster_map(self.wall_now());
    }

    fn ownership_round(&self, stream: &StreamIngest) {
        let (id, ttl, now) = (
            self.replica_id.as_str(),
            self.config.cluster.lease_ttl,
            self.wall_now(),
        );
        let store = self.store();
        if let Err(e) = store.acquire_lease(&replica_lease(id), id, ttl, now) {
            tracing::warn!(error = %e, "the replica heartbeat could not be written; partitions kept until the store answers");
            return;
        }
        for (p, epoch, _) in stream.owned() {
            match store.acquire_lease(&partition_lease(p), id, ttl, now) {
                Ok(l) if l.holder == id && l.epoch == epoch => {}
                Ok(l) => {
                    tracing::warn!(partition = p, holder = %l.holder, "a partition lease was lost; its aggregates are dropped here");
                    stream.give_up(p);
                }
                Err(e) => {
                    tracing::warn!(partition = p, error = %e, "a partition lease could not be renewed")
                }
            }
        }
        let leases = match store.leases() {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "the leases could not be read");
                return;
            }
        };
        let live = leases
            .iter()
            .filter(|l| l.name.starts_with("replica/") && l.expires_at_ms > now)
            .count()
            .max(1);
        // Replicas gone for good (a kill, a lost machine) leave their heartbeat and URL
        // behind: forgotten once silent for ten TTLs.
        for gone in leases
            .iter()
            .filter(|l| l.name.starts_with("replica/") && l.expires_at_ms < now - 10 * ttl)
        {
            if let Ok(true) = store.forget_lease(&gone.name, now - 10 * ttl) {
                let _ = store.delete_document(REPLICA_DOC, &gone.holder);
                tracing::info!(replica = %gone.holder, "a replica gone for good was forgotten");
            }
        }
        let partitions = stream.stream.config().partitions;
        let share = (partitions as usize).div_ceil(live);
        let owned: Vec<u32> = stream.owned().iter().map(|o| o.0).collect();
        if owned.len() > share {
            for &p in owned.iter().rev().take(owned.len() - share) {
                if !self.hand_over(stream, p) {
                    break;
                }
            }
            return;
        }
        let taken_elsewhere: BTreeSet<u32> = leases
            .iter()
            .filter(|l| l.holder != id && l.expires_at_ms > now)
            .filter_map(|l| l.name.strip_prefix("partition/")?.parse().ok())
            .collect();
        let start = partition_of(id, partitions);
        let mut count = owned.len();

        for k in 0..partitions {
            if count >= share {
                break;
            }
            let p = (start + k) % partitions;
            if owned.contains(&p) || taken_elsewhere.contains(&p) {
                continue;
            }
            match store.acquire_lease(&partition_lease(p), id, ttl, self.wall_now()) {
                Ok(l) if l.holder == id => match self.take_partition(stream, p, l.epoch) {
                    Ok(()) => count += 1,
                    Err(e) => {
                        tracing::error!(partition = p, error = %format!("{e:#}"), "a partition could not be taken; its lease is released");
                        let _ = store.release_lease(&partition_lease(p), id);
                    }
                },
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(partition = p, error = %e, "a partition lease could not be taken")
                }
            }
        }
    }

    /// Loads partition `p`'s snapshot and replays it (its lease just taken with `epoch`).
    fn take_partition(&self, stream: &StreamIngest, p: u32, epoch: i64) -> anyhow::Result<()> {
        let snapshot = self.store().load_partition_snapshot(p)?;
        let (engine, after) = match snapshot {
            Some(s) => (Some(decode_snapshot(&s.data)?), s.seq),
            None => (None, 0),
        };
        stream.take(p, epoch, engine, after)?;
        tracing::info!(partition = p, epoch, after, "partition taken");
        Ok(())
    }

    /// Stops applying `p`, writes its final snapshot and releases its lease.
    /// Answers false when the store did not answer (the caller may stop asking it).
    fn hand_over(&self, stream: &StreamIngest, p: u32) -> bool {
        let Some((epoch, seq, extract)) = stream.give_up(p) else {
            return true;
        };
        let id = &self.replica_id;
        match self.save_partition(p, epoch, seq, &extract) {
            Ok(Some(_)) => {
                if let Err(e) = self.store().release_lease(&partition_lease(p), id) {
                    tracing::warn!(partition = p, error = %e, "a partition lease could not be released; it expires");
                }
                tracing::info!(partition = p, seq, "partition handed over");
            }
            Ok(None) => tracing::warn!(
                partition = p,
                "a partition's final snapshot was refused: its lease had passed to another replica"
            ),
            Err(e) => {
                tracing::error!(partition = p, error = %format!("{e:#}"), "a partition's final snapshot failed; its next owner replays from the previous one");
                return false;
            }
        }
        true
    }

    /// Writes partition `p`'s snapshot: its size in bytes, or `None` when the store refused
    /// it (the lease passed to another replica).
    fn save_partition(
        &self,
        p: u32,
        epoch: i64,
        seq: u64,
        extract: &perf_core::Engine,
    ) -> anyhow::Result<Option<u64>> {
        let snapshot = PartitionSnapshot {
            partition: p,
            epoch,
            seq,
            taken_at_ms: extract.watermark(),
            data: encode_snapshot(extract)?,
        };
        let bytes = snapshot.data.len() as u64;
        let saved = self
            .store()
            .save_partition_snapshot(&snapshot, &self.replica_id)?;
        Ok(saved.then_some(bytes))
    }

    /// Snapshots every owned partition (called by [`Durable::snapshot`] under its lock). A
    /// snapshot the store refuses means the lease passed to another replica: the partition
    /// is dropped here.
    pub(super) fn snapshot_partitions(&self, stream: &StreamIngest) -> anyhow::Result<()> {
        let parts = stream.stream.config().partitions;
        let pieces: Vec<(u32, i64, u64, perf_core::Engine)> = {
            let engine = self.engine();
            stream
                .owned()
                .into_iter()
                .map(|(p, epoch, seq)| {
                    (
                        p,
                        epoch,
                        seq,
                        engine.extract(|s| partition_of(s, parts) == p),
                    )
                })
                .collect()
        };
        let mut failed = None;
        let mut bytes = 0;
        for (p, epoch, seq, extract) in pieces {
            match self.save_partition(p, epoch, seq, &extract) {
                Ok(Some(b)) => bytes += b,
                Ok(None) => {
                    tracing::warn!(partition = p, "a partition snapshot was refused: its lease passed to another replica; dropped here");
                    stream.give_up(p);
                }
                Err(e) => failed = Some(e.context(format!("snapshot of partition {p}"))),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        // The partitions' snapshots together are this replica's snapshot.
        self.metrics
            .snapshot_bytes
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
        self.metrics
            .snapshots
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Hands every owned partition over and ends the heartbeat (at shutdown), so the others
    /// take them at once rather than after the lease TTL.
    pub fn release_partitions(&self) {
        let Some(stream) = self.lease_stream() else {
            return;
        };
        let _one = self.snapshot_lock.lock().unwrap_or_else(|p| p.into_inner());
        // Once the store does not answer, each further call would wait for it in vain (a
        // stop must not take minutes): the rest are dropped unsaved, their leases expire
        // and their next owners replay from the previous snapshots.
        let mut store_answers = true;
        for (p, _, _) in stream.owned() {
            if store_answers {
                store_answers = self.hand_over(stream, p);
            } else {
                stream.give_up(p);
            }
        }
        if !store_answers {
            return;
        }
        if let Err(e) = self
            .store()
            .release_lease(&replica_lease(&self.replica_id), &self.replica_id)
        {
            tracing::warn!(error = %e, "the replica heartbeat could not be released; it expires");
        }
        let _ = self.store().delete_document(REPLICA_DOC, &self.replica_id);
    }
}
