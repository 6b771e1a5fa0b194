//! `elastickv-snapshot-encode`: see `ekv_snapshot::cli`.

fn main() -> std::process::ExitCode {
    ekv_snapshot::cli::main_go_encode()
}
