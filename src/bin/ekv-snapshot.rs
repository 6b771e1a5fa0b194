//! `ekv-snapshot`: see `ekv_snapshot::cli`.

fn main() -> std::process::ExitCode {
    ekv_snapshot::cli::main_ekv()
}
