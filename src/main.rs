use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    let src = &batchline::request::schema::SOURCE;
    let version: &'static str = Box::leak(
        format!(
            "{} (Vertex AI v1 schema revision {} from {})",
            env!("CARGO_PKG_VERSION"),
            src.revision,
            src.package
        )
        .into_boxed_str(),
    );
    let matches = batchline::cli::Cli::command()
        .version(version)
        .get_matches();
    let cli = match batchline::cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    batchline::cli::run(cli).into()
}
