//! `isthmus`: the liaison officers' CLI. All logic is in `isthmus::cli`.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = isthmus::cli::Cli::parse();
    let level = isthmus::cli::default_log_level(&cli);
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let code = isthmus::cli::main(cli).await;
    std::process::exit(code);
}
