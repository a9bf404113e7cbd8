//! The `packpub` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    packpub::commands::main()
}
