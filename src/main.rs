//! The `ozg-registry` binary: logging, then the command line (`cli`).

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    ozg_registry::telemetry::init_logging();
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
