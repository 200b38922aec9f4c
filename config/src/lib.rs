//! tandem's configuration: one YAML file, loaded into validated types.
//!
//! `load` never half-succeeds: it returns the whole model or every error found, each naming
//! the field path (`vrfs[1].routes[0].via`) and the reason.

pub mod model;
pub mod types;
mod validate;

pub use model::*;
pub use types::*;

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// A syntax or type error; serde reports the path and the line/column.
    #[error("{0}")]
    Parse(String),
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

/// Parses and validates a configuration from YAML text.
pub fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let cfg: Config = match serde_path_to_error::deserialize(de) {
        Ok(c) => c,
        Err(e) => return Err(vec![parse_error(&e)]),
    };
    validate::validate(&cfg)?;
    Ok(cfg)
}

/// serde_path_to_error knows the full path (down to the field); serde_yaml_ng knows the line.
/// The message says: `path: reason (line L, column C)`.
fn parse_error(e: &serde_path_to_error::Error<serde_yaml_ng::Error>) -> ConfigError {
    let inner = e.inner();
    let mut msg = inner.to_string();
    // serde_yaml_ng prefixes its own (shorter) path and suffixes the location: keep the reason.
    if let Some((head, rest)) = msg.split_once(": ") {
        if !head.contains(' ') {
            msg = rest.to_string();
        }
    }
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    let path = e.path().to_string();
    let loc = inner
        .location()
        .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
        .unwrap_or_default();
    if path.is_empty() || path == "." {
        ConfigError::Parse(format!("{msg}{loc}"))
    } else {
        ConfigError::Parse(format!("{path}: {msg}{loc}"))
    }
}

/// Reads, parses and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        vec![ConfigError::Read {
            path: path.display().to_string(),
            source,
        }]
    })?;
    parse(&text)
}
