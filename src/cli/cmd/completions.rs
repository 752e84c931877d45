//! `batchline completions SHELL` and `batchline man`: shell completion scripts and the man page,
//! both rendered from the clap definition in `cli/args/`, so they list exactly the commands and
//! flags the parser accepts. (clap_complete also completes the hidden `gen-corpus`; the man pages
//! leave it out.)

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::args::{Cli, CompletionShell, CompletionsArgs, ManArgs};
use crate::cli::exit::ExitStatus;
use crate::error::{Error, Result};

/// The name completions register for: the installed binary's name, whatever `argv[0]` was.
const BIN: &str = "batchline";

/// Runs `completions`: the script for one shell on stdout.
pub fn run_completions(args: CompletionsArgs) -> Result<ExitStatus> {
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
        CompletionShell::Powershell => Shell::PowerShell,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut out);
    write_stdout(&out)
}

/// Runs `man`: the top-level man page (section 1, roff) on stdout, or with `--dir` that page and
/// one per visible command written into the folder (their paths on stdout).
pub fn run_man(args: ManArgs) -> Result<ExitStatus> {
    let cmd = Cli::command().name(BIN);
    match args.dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| Error::io("<stdout>", e))?;
            write_stdout(&out)
        }
        Some(dir) => {
            if !dir.is_dir() {
                return Err(Error::Usage(format!(
                    "--dir {}: not an existing folder",
                    dir.display()
                )));
            }
            clap_mangen::generate_to(cmd.clone(), &dir).map_err(|e| Error::io(&dir, e))?;
            let mut names = vec![format!("{BIN}.1")];
            names.extend(
                cmd.get_subcommands()
                    .filter(|s| !s.is_hide_set())
                    .map(|s| format!("{BIN}-{}.1", s.get_name())),
            );
            let listing: String = names
                .iter()
                .map(|n| format!("{}\n", dir.join(n).display()))
                .collect();
            write_stdout(listing.as_bytes())
        }
    }
}

fn write_stdout(bytes: &[u8]) -> Result<ExitStatus> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(ExitStatus::Ok)
}
