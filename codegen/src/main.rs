//! `yew-convex-codegen [SPEC.json|-] [-o OUT.rs]`: prints (or writes) the Rust module for a
//! Convex function spec (`npx convex function-spec`, `devserver function-spec`).

use std::{io::Read, process::ExitCode};

fn main() -> ExitCode {
    let mut input = None;
    let mut output = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-o" | "--out" => output = args.next(),
            "-h" | "--help" => {
                println!("usage: yew-convex-codegen [SPEC.json|-] [-o OUT.rs]");
                return ExitCode::SUCCESS;
            }
            _ if input.is_none() => input = Some(arg),
            _ => {
                eprintln!("yew-convex-codegen: unexpected argument {arg}");
                return ExitCode::FAILURE;
            }
        }
    }
    let source = input.clone().unwrap_or_else(|| "-".into());
    let text = match input.as_deref() {
        None | Some("-") => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map(|_| text)
        }
        Some(path) => std::fs::read_to_string(path),
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            eprintln!("yew-convex-codegen: cannot read {source}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match yew_convex_codegen::generate(&text, &source) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("yew-convex-codegen: {source}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match output {
        Some(path) => {
            if let Err(e) = std::fs::write(&path, code) {
                eprintln!("yew-convex-codegen: cannot write {path}: {e}");
                return ExitCode::FAILURE;
            }
        }
        None => print!("{code}"),
    }
    ExitCode::SUCCESS
}
