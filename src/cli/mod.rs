//! The command line: clap arguments, one file per command, one printer for every output format,
//! and the exit status table. Nothing in the library imports this module.

pub mod args;
pub mod cmd;
pub mod exit;
pub mod output;
pub mod size;

pub use args::Cli;
pub use exit::ExitStatus;

use crate::error::Error;

/// Hands the parsed command line to its command and turns the outcome into an exit status.
pub fn dispatch(cli: Cli) -> ExitStatus {
    let result = match cli.command {
        args::Command::Validate(a) => cmd::validate::run(a),
        args::Command::Prepare(a) => cmd::prepare::prepare_command(a),
        args::Command::Stats(a) => cmd::prepare::stats_command(a),
        args::Command::Upload(a) => cmd::upload::run(a),
        args::Command::Submit(a) => cmd::submit::run_with(a.args, &a.queue, &a.what),
        args::Command::Status(a) => cmd::status::run(a),
        args::Command::Cancel(a) => cmd::cancel::run(a),
        args::Command::Wait(a) => cmd::wait::run(a),
        args::Command::Collect(a) => cmd::collect::run(a),
        args::Command::Run(a) => cmd::run::run(*a),
        args::Command::FetchTokenizer(a) => cmd::fetch_tokenizer::run(a),
        args::Command::GenCorpus(a) => cmd::gen_corpus::run(a),
        args::Command::GenPredictions(a) => cmd::gen_predictions::run(a),
        args::Command::Completions(a) => cmd::completions::run_completions(a),
        args::Command::Man(a) => cmd::completions::run_man(a),
        args::Command::Emulator(a) => cmd::emulator::run(a),
    };
    match result {
        Ok(status) => status,
        Err(err) => {
            if let Error::Io { source, .. } = &err {
                if source.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitStatus::Ok;
                }
            }
            output::print_error(&err);
            match err {
                Error::Usage(_) => ExitStatus::Usage,
                Error::InvalidInput(_) => ExitStatus::InputErrors,
                _ => ExitStatus::Failure,
            }
        }
    }
}
