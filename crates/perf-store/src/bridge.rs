//! The synchronous [`crate::Store`] and ingest-stream calls over async clients (sqlx,
//! async-nats): each backend owns a small Tokio runtime; a call is spawned on it and the
//! caller waits on a channel. That works from a plain thread and from inside another
//! runtime alike (blocking that thread, as a SQLite call does), where `Runtime::block_on`
//! would panic. Dropping a [`Bridge`] shuts its runtime down in the background, so that too
//! is safe inside another runtime.

use crate::StoreError;
use std::future::Future;

/// A runtime of its own for one backend.
pub(crate) struct Bridge(Option<tokio::runtime::Runtime>);

impl Bridge {
    /// A runtime with `threads` workers named `name`.
    pub fn new(name: &str, threads: usize) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name(name)
            .enable_all()
            .build()
            .map_err(|e| StoreError::Io {
                context: format!("starting the {name} runtime"),
                source: e,
            })?;
        Ok(Bridge(Some(runtime)))
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.0
            .as_ref()
            .expect("the runtime lives as long as its bridge")
    }

    /// Spawns `f` and blocks this thread (whatever it is) until it answers.
    pub fn run<T, E>(
        &self,
        f: impl Future<Output = Result<T, E>> + Send + 'static,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        E: Into<StoreError> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime().spawn(async move {
            let _ = tx.send(f.await);
        });
        rx.recv()
            .map_err(|_| StoreError::Io {
                context: "waiting for a backend's runtime".into(),
                source: std::io::Error::other("the runtime stopped"),
            })?
            .map_err(Into::into)
    }

    /// Spawns `f` to run in the background.
    pub fn spawn(
        &self,
        f: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        self.runtime().spawn(f)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
