//! Exit statuses: the only place their numbers appear.

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success (warnings allowed unless `--deny-warnings`).
    Ok,
    /// 1: the command completed and the input has errors.
    InputErrors,
    /// 2: usage error (clap's own, and bad flag combinations).
    Usage,
    /// 3: I/O, network or remote-service failure.
    Failure,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(match s {
            ExitStatus::Ok => 0,
            ExitStatus::InputErrors => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Failure => 3,
        })
    }
}

/// The table shown in `--help`.
pub const EXIT_TABLE: &str = "Exit status:
  0  success (warnings allowed unless --deny-warnings)
  1  the input has errors (the scan itself completed)
  2  usage error
  3  I/O, network or remote-service failure";
