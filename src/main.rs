//! `truffle`: the service and its command-line tools.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use truffle::accounts::{self, Role};
use truffle::app::{self, AppState, Providers};
use truffle::config::{Config, LogFormat};

/// Truffle (Trust + Raffle): the marketplace backend for limited editions that buyers can verify.
///
/// Configuration comes from the environment (and a `.env` file in the working directory, if
/// present); `.env.example` explains every variable.
#[derive(Parser)]
#[command(name = "truffle", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (applies pending migrations first).
    Serve {
        /// Seed the demo accounts before serving (what the README's run command does).
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an admin account. The password is read from standard input (first line).
    CreateAdmin {
        /// The admin's email address.
        #[arg(long)]
        email: String,
    },
    /// Seed the demo accounts (idempotent).
    SeedDemo,
    /// Print the OpenAPI document and exit (needs no configuration).
    Openapi,
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        let doc = truffle::router::openapi();
        println!(
            "{}",
            doc.to_pretty_json()
                .expect("the OpenAPI document serialises")
        );
        return ExitCode::SUCCESS;
    }

    // A missing .env is normal (production sets the environment itself).
    let _ = dotenvy::dotenv();
    let config = match Config::from_process_env() {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            eprintln!("See .env.example for what each variable means.");
            return ExitCode::from(2);
        }
    };
    init_logging(config.log_format);

    match run(cli.command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "truffle failed");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo } => {
            let listen = config.listen_addr;
            let providers = Providers::from_config(&config);
            let state = AppState::start(config, providers).await?;
            if demo {
                truffle::demo::seed(&state.accounts).await?;
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
            tracing::info!(addr = %listener.local_addr()?, "truffle is listening; API docs at /docs");
            app::serve(state, listener, app::shutdown_signal()).await?;
            tracing::info!("stopped");
        }
        Command::Migrate => {
            let db = truffle::db::connect(config.database_url(), 2).await?;
            truffle::db::migrate(&db).await?;
            println!("migrations applied");
        }
        Command::CreateAdmin { email } => {
            if std::io::stdin().is_terminal() {
                eprintln!("Type the admin's password and press Enter:");
            }
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let db = truffle::db::connect(config.database_url(), 2).await?;
            truffle::db::migrate(&db).await?;
            let id = accounts::create_unverified_user(&db, &email, password, Role::Admin).await?;
            println!("admin {email} created with id {id}");
        }
        Command::SeedDemo => {
            let providers = Providers::from_config(&config);
            let state = AppState::start(config, providers).await?;
            truffle::demo::seed(&state.accounts).await?;
            println!("demo data ready");
        }
        Command::Openapi => unreachable!("handled before configuration is read"),
    }
    Ok(())
}
