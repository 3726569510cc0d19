//! The `ecosystem-perf` binary: parses the command line and hands over to `cmd`.

mod allocator;
mod args;
mod cli;
mod client;
mod cmd;
mod event_file;
mod exit;
mod gate_render;
mod json_words;
mod tables;
mod terminal_safe;
mod units;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let code = match cmd::run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::code_of(&e)
        }
    };
    std::process::exit(code);
}
