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
    let cfg: Config = match serde::Deserialize::deserialize(de) {
        Ok(c) => c,
        Err(e) => return Err(vec![ConfigError::Parse(e.to_string())]),
    };
    validate::validate(&cfg)?;
    Ok(cfg)
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
