//! What reading a configuration can fail with, naming the offending key's path.

/// A configuration error, with the path of the offending key where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A `${VAR}` names an unset variable.
    #[error("environment variable {0} is not set (referenced as ${{{0}}})")]
    MissingVar(String),
    /// The YAML does not match the schema.
    #[error("{path}: {message}")]
    Invalid {
        /// Key path, e.g. `server.limits.maxBodyBytes`.
        path: String,
        /// What is wrong.
        message: String,
    },
}
