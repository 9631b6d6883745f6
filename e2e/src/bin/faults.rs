//! `faults --work DIR [--devserver PATH] [--seed N] [-- devserver args…]`: the fault-injection
//! proxy and its control API in front of a devserver it starts (see `e2e::faults`).

fn main() -> std::process::ExitCode {
    match e2e::faults::main(std::env::args().skip(1).collect()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faults: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
