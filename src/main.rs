use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = batchline::cli::Cli::parse();
    batchline::cli::dispatch(cli).into()
}
