//! The `faultline` binary: the command line of Contract 4.
//!
//! Exit codes, as Jepsen's: 0 valid, 1 invalid, 2 unknown, 254 bad arguments or unreadable input,
//! 255 the harness itself failed.

mod check;

use clap::{Parser, Subcommand};
use harness::error::{exit, EXIT_BAD_INPUT};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "faultline",
    version,
    about = "A Jepsen-style consistency testing harness"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check history files against consistency models.
    Check(check::CheckArgs),
    /// Run one test: a cluster, a workload, faults, a checked history (defaults: raft, register, partition,kill, 5 nodes, 60 s).
    Test(harness::test::TestArgs),
    /// Check a stored run again.
    Analyze(harness::analyze::AnalyzeArgs),
    /// Rebuild stored runs' report.html (without checking again).
    Report(harness::report::command::ReportArgs),
    /// Browse the store of runs in a browser (127.0.0.1:8080 by default).
    Serve(harness::serve::ServeArgs),
    /// Run a matrix of tests (systems x workloads x nemeses x bugs x seeds) for CI: JUnit XML and a detection matrix out; `campaign merge DIR...` joins shards.
    Campaign(harness::campaign::CampaignCommand),
    /// A lab on one machine (root): `cluster up|status|down` makes, checks and removes hosts as network namespaces, each with its own address and sshd.
    Cluster(harness::lab::ClusterCommand),
}

fn main() -> ExitCode {
    init_logging();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_BAD_INPUT } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Test(args) => harness::test::run(args),
        Command::Analyze(args) => exit("analyze", harness::analyze::run(&args)),
        Command::Report(args) => exit(
            "report",
            harness::report::command::run(&args).map(|_| checkers::Validity::Valid),
        ),
        Command::Serve(args) => exit(
            "serve",
            harness::serve::run(&args).map(|_| checkers::Validity::Valid),
        ),
        Command::Campaign(cmd) => harness::campaign::run(cmd),
        Command::Cluster(cmd) => harness::lab::run(cmd),
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FAULTLINE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,zookeeper_client=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
