//! The `emodal-api` binary: parse the command line, hand over to the library.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "emodal-api",
    version,
    about = "Persistent E-Modal portal sessions over HTTP"
)]
struct Cli {
    /// Settings file (default: ./settings.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API against the portal configured in the settings.
    Serve {
        /// Drive a sandbox portal already running at this URL (`emodal-api sandbox-portal`)
        /// instead of the configured portal: the portal profile's URLs and the captcha
        /// client are pointed at it, as `emodal-api sandbox` does in-process.
        #[arg(long, value_name = "URL")]
        sandbox_url: Option<String>,
    },
    /// Run the API and the sandbox portal in one process, wired together.
    Sandbox,
    /// Walk the portal's pages read-only and report what each profile selector matches
    /// (credentials from EMODAL_CHECK_USERNAME, EMODAL_CHECK_PASSWORD, EMODAL_CHECK_CAPTCHA_KEY).
    CheckProfile {
        /// Check against an embedded sandbox portal instead of the configured one.
        #[arg(long)]
        sandbox: bool,
    },
    /// Run only the sandbox portal and 2captcha stand-in.
    SandboxPortal {
        /// Port to listen on (default: sandbox.port, 5011).
        #[arg(long)]
        port: Option<u16>,
    },
}

fn main() -> anyhow::Result<()> {
    // With RUST_BACKTRACE=1 in the environment, every anyhow error (headless_chrome makes
    // them routinely, e.g. while a closed browser's connection winds down) captures a
    // backtrace, and resolving them loads the debug symbols: measured +40 MB of RSS after ten
    // sessions were opened and closed. Library errors carry their context in the message;
    // panics keep their backtraces.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: no other thread exists yet; the runtime starts below.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = emodal_api::config::Settings::load(cli.config.as_deref())?;
    let _log = emodal_api::telemetry::init(&settings.log);
    raise_open_files_limit();
    // A wrong chrome.path would otherwise show only at the first login, as a 502.
    if !matches!(cli.command, Command::SandboxPortal { .. }) {
        let version = settings.check_chrome()?;
        tracing::info!(chrome = %version, path = %settings.chrome.path.display(), "browser found");
    }
    match cli.command {
        Command::Serve { sandbox_url } => {
            if let Some(url) = sandbox_url {
                let url = url.trim_end_matches('/');
                anyhow::ensure!(
                    url.starts_with("http://") || url.starts_with("https://"),
                    "--sandbox-url must be an http:// URL such as http://127.0.0.1:5011, got '{url}'"
                );
                settings.wire_to_sandbox(url);
                tracing::info!(sandbox = %url, "driving the sandbox portal at --sandbox-url");
            }
            emodal_api::app::serve(settings).await
        }
        Command::Sandbox => emodal_api::app::serve_with_sandbox(settings).await,
        Command::CheckProfile { sandbox } => {
            emodal_api::check_profile::cli(settings, sandbox).await
        }
        Command::SandboxPortal { port } => {
            emodal_api::sandbox::run_standalone(settings, port).await
        }
    }
}

/// Each connection, Chrome socket and profile file is a descriptor: raise the soft limit to
/// the hard one (often 1,024 vs 1,048,576) so `server.max_connections` is what limits.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        let before = limit.rlim_cur;
        if before < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                tracing::info!(
                    from = before,
                    to = limit.rlim_cur,
                    "open-files limit raised"
                );
            }
        }
    }
}
