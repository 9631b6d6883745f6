//! `devserver` command line: serve (default), mint a dev token, or print the function spec.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    process::ExitCode,
    time::Duration,
};

use devserver::{auth::TokenRequest, default_issuer, Config, Engine, DEFAULT_PORT};

const USAGE: &str = "\
yew-convex devserver: a local Convex-compatible backend with its own identity provider

USAGE:
    devserver [serve] [OPTIONS]
    devserver token --sub <SUB> [--name <NAME>] [--email <EMAIL>] [--ttl <SECS>] [--data <DIR>] [--port <PORT>] [--issuer <URL>]
    devserver function-spec [--port <PORT>]   print the functions' spec as `npx convex function-spec` does

OPTIONS:
    --port <PORT>            port to listen on [default: 3210] (0 picks a free one)
    --host <IP>              address to listen on [default: 127.0.0.1]
    --data <DIR>             data directory (SQLite database, identity key) [default: .devserver-data]
    --token-ttl <SECS>       lifetime of minted tokens [default: 60]
    --issuer <URL>           the identity provider's issuer URL [default: http://<host>:<port>]
    --trust-issuer <URL>     also accept tokens from this OIDC issuer (repeatable), e.g. a Clerk
                             Frontend API URL; its keys come from its OIDC discovery
    --ping-interval <SECS>   send a protocol Ping after this long without messages [default: 15]
    --clerk-assets <DIR>     the npm bundles of clerk-js and @clerk/ui, served at /__clerk/npm/
                             [default: static/vendor/npm]
    --clerk-token-ttl <SECS> lifetime of the Clerk stand-in's session and `convex` template tokens
                             [default: 60] (alias: --clerk-session-ttl)
    -h, --help               print this help
";

struct Args {
    command: String,
    port: u16,
    host: IpAddr,
    data: PathBuf,
    token_ttl: u64,
    issuer: Option<String>,
    trusted: Vec<String>,
    ping_interval: u64,
    clerk_token_ttl: u64,
    clerk_assets: PathBuf,
    sub: Option<String>,
    name: Option<String>,
    email: Option<String>,
    ttl: Option<u64>,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        command: "serve".into(),
        port: DEFAULT_PORT,
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        data: PathBuf::from(".devserver-data"),
        token_ttl: 60,
        issuer: None,
        trusted: vec![],
        ping_interval: 15,
        clerk_token_ttl: 60,
        clerk_assets: PathBuf::from("static/vendor/npm"),
        sub: None,
        name: None,
        email: None,
        ttl: None,
    };
    let mut first = true;
    while let Some(arg) = argv.next() {
        if first && !arg.starts_with('-') {
            match arg.as_str() {
                "serve" | "token" | "function-spec" => args.command = arg,
                other => return Err(format!("unknown command `{other}`")),
            }
            first = false;
            continue;
        }
        first = false;
        let mut value = |name: &str| argv.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, v: String| {
            v.parse::<u64>().map_err(|_| format!("{name}: `{v}` is not a number"))
        };
        match arg.as_str() {
            "-h" | "--help" => args.command = "help".into(),
            "--port" => {
                let v = value("--port")?;
                args.port = v.parse().map_err(|_| format!("--port: `{v}` is not a port number"))?;
            }
            "--host" => {
                let v = value("--host")?;
                args.host = v.parse().map_err(|_| format!("--host: `{v}` is not an IP address"))?;
            }
            "--data" => args.data = PathBuf::from(value("--data")?),
            "--token-ttl" => args.token_ttl = number("--token-ttl", value("--token-ttl")?)?,
            "--issuer" => args.issuer = Some(value("--issuer")?),
            "--trust-issuer" => args.trusted.push(value("--trust-issuer")?),
            "--ping-interval" => {
                args.ping_interval = number("--ping-interval", value("--ping-interval")?)?.max(1)
            }
            "--clerk-assets" => args.clerk_assets = PathBuf::from(value("--clerk-assets")?),
            "--clerk-token-ttl" | "--clerk-session-ttl" => {
                args.clerk_token_ttl = number(&arg, value(&arg)?)?.max(1)
            }
            "--sub" => args.sub = Some(value("--sub")?),
            "--name" => args.name = Some(value("--name")?),
            "--email" => args.email = Some(value("--email")?),
            "--ttl" => args.ttl = Some(number("--ttl", value("--ttl")?)?),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    devserver::logging::init();
    let result = match args.command.as_str() {
        "help" => {
            print!("{USAGE}");
            Ok(())
        }
        "token" => token(&args),
        "function-spec" => {
            let url = format!("http://{}:{}", args.host, args.port);
            match serde_json::to_string_pretty(&devserver::functions::spec(&url)) {
                Ok(text) => {
                    println!("{text}");
                    Ok(())
                }
                Err(e) => Err(e.into()),
            }
        }
        _ => serve(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn config(args: &Args) -> Config {
    let mut config = Config::new(args.data.clone());
    config.token_ttl = args.token_ttl;
    config.trusted_issuers = args.trusted.clone();
    config.ping_interval = Duration::from_secs(args.ping_interval);
    config.clerk_token_ttl = args.clerk_token_ttl;
    config.clerk_assets = args.clerk_assets.is_dir().then(|| args.clerk_assets.clone());
    if config.clerk_assets.is_none() {
        eprintln!(
            "note: {} not found (run scripts/setup): /__clerk/npm/ will not serve clerk-js",
            args.clerk_assets.display()
        );
    }
    config
}

fn token(args: &Args) -> anyhow::Result<()> {
    let sub = args.sub.clone().ok_or_else(|| anyhow::anyhow!("`token` needs --sub"))?;
    let issuer = args
        .issuer
        .clone()
        .unwrap_or_else(|| default_issuer(SocketAddr::new(args.host, args.port)));
    let auth = devserver::auth::Auth::load_or_create(&args.data, &issuer, vec![], args.token_ttl)
        .or_else(|_| {
        std::fs::create_dir_all(&args.data)?;
        devserver::auth::Auth::load_or_create(&args.data, &issuer, vec![], args.token_ttl)
    })?;
    let request = TokenRequest {
        sub,
        name: args.name.clone(),
        email: args.email.clone(),
        ttl_secs: args.ttl,
        extra: Default::default(),
    };
    println!("{}", auth.mint(&request));
    Ok(())
}

fn serve(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = devserver::bind(SocketAddr::new(args.host, args.port)).await?;
        let addr = listener.local_addr()?;
        let issuer = args.issuer.clone().unwrap_or_else(|| default_issuer(addr));
        let engine = Engine::open(config(&args), &issuer)?;
        let base = default_issuer(addr);
        let ws = base.replacen("http", "ws", 1);
        println!("devserver listening on {base}");
        println!("  sync WebSocket  {ws}/api/sync");
        println!("  HTTP API        {base}/api/query | /api/mutation | /api/action");
        println!("  OIDC issuer     {issuer}");
        println!("  Clerk stand-in  {base}{}  (clerk-js proxyUrl)", devserver::clerk::PREFIX);
        println!("  data dir        {}", args.data.display());
        devserver::serve(listener, engine, shutdown_signal()).await
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
