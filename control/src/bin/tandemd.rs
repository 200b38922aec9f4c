//! tandemd: the tandem PE router daemon.

use anyhow::{Context, Result};
use clap::Parser;
use control::daemon::Instance;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(version, about = "tandem PE router daemon")]
struct Cli {
    /// Configuration file to run.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Validate a configuration file and exit (0 = valid, 1 = errors, each on stderr).
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    check_config: Option<PathBuf>,
}

fn load(path: &std::path::Path) -> Result<config::Config, ExitCode> {
    config::load(path).map_err(|errs| {
        for e in &errs {
            eprintln!("error: {}: {e}", path.display());
        }
        eprintln!(
            "{}: {} error(s); nothing started",
            path.display(),
            errs.len()
        );
        ExitCode::from(1)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(p) = &cli.check_config {
        return match load(p) {
            Ok(c) => {
                println!(
                    "{}: ok ({} ports, {} bundles, {} sub-interfaces, {} VRFs)",
                    p.display(),
                    c.ports.len(),
                    c.bundles.len(),
                    c.interfaces.len(),
                    c.vrfs.len()
                );
                ExitCode::SUCCESS
            }
            Err(code) => code,
        };
    }
    let Some(path) = &cli.config else {
        eprintln!("tandemd: give --config FILE (or --check-config FILE)");
        return ExitCode::from(2);
    };
    let cfg = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&cfg.logging.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cfg.logging.json {
        fmt.json().init();
    } else {
        fmt.init();
    }
    match run(cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cfg: config::Config) -> Result<()> {
    let sock = cfg.api_socket();
    let inst = Instance::start(cfg)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = control::server::bind(&sock)
            .with_context(|| format!("API socket {}", sock.display()))?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(control::server::serve(listener, tx));
        tracing::info!(socket = %sock.display(), "ready");
        let r = inst.run(rx).await;
        let _ = std::fs::remove_file(&sock);
        r
    })
}
