//! `truffle`: the service and its command-line tools.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use truffle::accounts::{self, Role};
use truffle::app::{self, AppState, Providers};
use truffle::config::{Config, Environment, LogFormat};

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

/// Every command: those of the service, which read the configuration, and the tools that need
/// none.
#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Service(ServiceCommand),
    #[command(flatten)]
    Tool(ToolCommand),
}

/// Commands that read the configuration (database, chain, providers).
#[derive(Subcommand)]
enum ServiceCommand {
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
    /// Rebuild the search index (SEARCH_INDEX_DIR) from PostgreSQL, with a progress bar. Stop
    /// the server that uses the directory first; the server also rebuilds a missing or corrupt
    /// index by itself.
    Reindex,
    /// Local devnet only: deploy the registry if none is at CHAIN_REGISTRY_ADDRESS and fund the
    /// anchoring key (the run command does this).
    DevnetSetup {
        /// The account that deploys (anvil's first default account unless told otherwise).
        #[arg(
            long,
            env = "DEVNET_DEPLOYER_KEY",
            default_value = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        )]
        deployer_key: String,
    },
}

/// Tools that need no configuration and no database.
#[derive(Subcommand)]
enum ToolCommand {
    /// Print the OpenAPI document and exit (needs no configuration).
    Openapi,
    /// Verify a product's proof bundle against the chain, as any third party would: needs no
    /// database, and trusts only the chain id and registry given here, never the bundle's own.
    Verify {
        /// The bundle: a file path, or an http(s) URL such as
        /// http://127.0.0.1:8080/v1/products/{id}/proof
        bundle: String,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Re-run a raffle's draw from the chain and the published ticket list alone, and say whether
    /// the published winners match. Needs no database.
    VerifyDraw {
        /// The draw record: a URL such as http://127.0.0.1:8080/v1/raffles/{id}/draw, or a file.
        draw: String,
        /// The ticket list (one 0x-hex ticket per line): a URL or a file. Defaults to the
        /// record's `tickets_url` on the same server.
        #[arg(long)]
        tickets: Option<String>,
        /// The raffle you mean: the record must be this raffle's.
        #[arg(long)]
        raffle_id: Option<uuid::Uuid>,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Verify one unit of an edition (the code on its label) against the chain: its record, its
    /// place in the seller's signed unit set, the product it is of, and the anchoring. Needs no
    /// database.
    VerifyUnit {
        /// The unit proof: a URL such as http://127.0.0.1:8080/v1/units/{code}/proof, or a file.
        unit: String,
        /// The product's proof bundle (of the record the units are of): a URL or a file.
        /// Defaults to /v1/products/{id}/proof on the unit proof's server.
        #[arg(long)]
        product: Option<String>,
        /// The unit's history of owners: a URL or a file. Defaults to
        /// /v1/units/{code}/history on the unit proof's server.
        #[arg(long)]
        history: Option<String>,
        #[command(flatten)]
        trust: TrustArgs,
    },
}

/// What a verifier trusts: its own choice, never the bundle's or the record's.
#[derive(clap::Args)]
struct TrustArgs {
    /// Any JSON-RPC node of the chain.
    #[arg(long, env = "CHAIN_RPC_URL")]
    rpc_url: String,
    /// The chain id you trust.
    #[arg(long, env = "CHAIN_ID")]
    chain_id: u64,
    /// The TruffleRegistry address you trust.
    #[arg(long, env = "CHAIN_REGISTRY_ADDRESS")]
    registry: String,
    /// How many blocks deep an anchoring or a reveal must be (1: the latest block counts).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    confirmations: u64,
}

impl TrustArgs {
    /// The trust of a verification, or why the arguments are wrong.
    fn trust(&self) -> Result<truffle::chain::verify::Trust, String> {
        let registry = self
            .registry
            .parse()
            .map_err(|_| format!("--registry {:?} is not an address", self.registry))?;
        Ok(truffle::chain::verify::Trust {
            rpc_url: self.rpc_url.clone(),
            chain_id: self.chain_id,
            registry,
            confirmations: self.confirmations,
        })
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    // Colours only on a terminal: a log file or journal gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
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
    // Before parsing, so flags that fall back to variables see .env too. A missing .env is normal
    // (production sets the environment itself).
    let _ = dotenvy::dotenv();
    let command = match Cli::parse().command {
        Command::Tool(tool) => return run_tool(tool).await,
        Command::Service(command) => command,
    };
    let config = match Config::from_process_env() {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            eprintln!("See .env.example for what each variable means.");
            return ExitCode::from(2);
        }
    };
    init_logging(config.log_format);

    match run(command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "truffle failed");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A tool: it reads no configuration and touches no database.
async fn run_tool(tool: ToolCommand) -> ExitCode {
    match tool {
        ToolCommand::Openapi => {
            let doc = truffle::router::openapi();
            println!(
                "{}",
                doc.to_pretty_json()
                    .expect("the OpenAPI document serialises")
            );
            ExitCode::SUCCESS
        }
        ToolCommand::Verify { bundle, trust } => match trust.trust() {
            Ok(trust) => verify(&bundle, &trust).await,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        ToolCommand::VerifyUnit {
            unit,
            product,
            history,
            trust,
        } => match trust.trust() {
            Ok(trust) => verify_unit(&unit, product.as_deref(), history.as_deref(), &trust).await,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        ToolCommand::VerifyDraw {
            draw,
            tickets,
            raffle_id,
            trust,
        } => match trust.trust() {
            Ok(trust) => verify_draw(&draw, tickets.as_deref(), raffle_id, &trust).await,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
    }
}

async fn run(command: ServiceCommand, config: Config) -> anyhow::Result<()> {
    let demo_only = match &command {
        ServiceCommand::Serve { demo: true } => Some("serve --demo"),
        ServiceCommand::SeedDemo => Some("seed-demo"),
        ServiceCommand::DevnetSetup { .. } => Some("devnet-setup"),
        ServiceCommand::Serve { demo: false }
        | ServiceCommand::Migrate
        | ServiceCommand::CreateAdmin { .. }
        | ServiceCommand::Reindex => None,
    };
    if let Some(name) = demo_only
        && config.environment == Environment::Production
    {
        anyhow::bail!("`truffle {name}` is for development only: TRUFFLE_ENV is production");
    }
    for warning in &config.development_warnings {
        tracing::warn!("development mode: {warning}");
    }
    match command {
        ServiceCommand::Serve { demo } => {
            let listen = config.listen_addr;
            let providers = Providers::from_config(&config);
            let state = AppState::start(config, providers).await?;
            if demo {
                truffle::demo::seed(&state.accounts, &state.catalogue).await?;
                truffle::demo::ads(&state.accounts, &state.ads).await?;
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
            tracing::info!(addr = %listener.local_addr()?, "truffle is listening; API docs at /docs");
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let workers = state.spawn_workers(stopped);
            if demo {
                let demo_state = state.clone();
                tokio::spawn(async move {
                    if let Err(e) = truffle::demo::raffles(demo_state).await {
                        tracing::warn!(error = format!("{e:#}"), "demo raffles not set up");
                    }
                });
            }
            app::serve(state, listener, async move {
                app::shutdown_signal().await;
                let _ = stop.send(true);
            })
            .await?;
            for worker in workers {
                let _ = worker.await;
            }
            tracing::info!("stopped");
        }
        ServiceCommand::Migrate => {
            let db = truffle::db::connect(config.database_url(), 2).await?;
            truffle::db::migrate(&db).await?;
            println!("migrations applied");
        }
        ServiceCommand::CreateAdmin { email } => {
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
        ServiceCommand::SeedDemo => {
            let providers = Providers::from_config(&config);
            let state = AppState::start(config, providers).await?;
            truffle::demo::seed(&state.accounts, &state.catalogue).await?;
            truffle::demo::ads(&state.accounts, &state.ads).await?;
            println!("demo data ready");
        }
        ServiceCommand::Reindex => reindex(config).await?,
        ServiceCommand::DevnetSetup { deployer_key } => {
            devnet_setup(&config, &deployer_key).await?
        }
    }
    Ok(())
}

async fn reindex(config: Config) -> anyhow::Result<()> {
    use indicatif::{ProgressBar, ProgressStyle};
    let dir = config.search.index_dir.clone();
    let providers = Providers::from_config(&config);
    let state = AppState::start(config, providers).await?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} products, {per_sec}, {eta} left")
            .expect("a valid template"),
    );
    let started = std::time::Instant::now();
    let payload = state
        .search
        .rebuild(|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await?;
    bar.finish();
    println!(
        "search index rebuilt in {:.1} s: {} products in {} (feed horizon {})",
        started.elapsed().as_secs_f64(),
        state.search.index().num_docs(),
        dir.display(),
        payload.horizon
    );
    Ok(())
}

async fn devnet_setup(config: &Config, deployer_key: &str) -> anyhow::Result<()> {
    use alloy::primitives::U256;
    use alloy::providers::ext::AnvilApi;
    use alloy::signers::local::PrivateKeySigner;
    use secrecy::ExposeSecret;
    use truffle::chain::{ChainClient, deploy_registry};

    let rpc = config
        .chain
        .rpc
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("CHAIN_RPC_URL is not set"))?;
    let anchorer: PrivateKeySigner = rpc.anchor_key.expose_secret().parse()?;
    let client = ChainClient::read_only(&rpc.url, rpc.registry, config.chain.chain_id)?;
    let served = client.rpc_chain_id().await?;
    anyhow::ensure!(
        served == config.chain.chain_id,
        "the node serves chain {served}, CHAIN_ID is {}",
        config.chain.chain_id
    );
    // Plenty of devnet ether for the anchoring key.
    client
        .provider()
        .anvil_set_balance(anchorer.address(), U256::from(10u128.pow(21)))
        .await?;
    if client.registry_deployed().await? {
        println!("registry already at {:#x}", rpc.registry);
        return Ok(());
    }
    let address = deploy_registry(&rpc.url, deployer_key, anchorer.address()).await?;
    anyhow::ensure!(
        address == rpc.registry,
        "deployed the registry at {address:#x}, but CHAIN_REGISTRY_ADDRESS is {:#x}: set it to the new address",
        rpc.registry
    );
    println!("registry deployed at {address:#x}");
    Ok(())
}

/// Reads a file, or fetches an http(s) URL.
async fn fetch(source: &str) -> Result<String, String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let response = reqwest::get(source)
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("cannot fetch {source}: {e}"))?;
        response
            .text()
            .await
            .map_err(|e| format!("cannot read {source}: {e}"))
    } else {
        std::fs::read_to_string(source).map_err(|e| format!("cannot read {source}: {e}"))
    }
}

/// A published document read strictly (I-JSON) into `T`, from a URL or a file; on failure the
/// exit code to end with (2: it cannot be fetched; 1: it is not a `what`), the reason printed.
async fn read_published<T: serde::de::DeserializeOwned>(
    source: &str,
    what: &str,
) -> Result<T, ExitCode> {
    let text = fetch(source).await.map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(2)
    })?;
    truffle::protocol::ijson::from_str(&text).map_err(|e| {
        eprintln!("not a {what}: {e}");
        ExitCode::FAILURE
    })
}

/// One line per check of a verdict.
fn print_checks(verdict: &truffle::chain::verify::Verdict) {
    for check in &verdict.checks {
        println!(
            "  {} {:<18} {}",
            if check.ok { "✓" } else { "✗" },
            check.name,
            check.detail
        );
    }
}

/// `truffle verify-unit`: one line per check and a verdict; exits 0 only if every check passes.
async fn verify_unit(
    unit: &str,
    product: Option<&str>,
    history: Option<&str>,
    trust: &truffle::chain::verify::Trust,
) -> ExitCode {
    use truffle::chain::verify::{verify_history, verify_unit};
    use truffle::protocol::bundle::ProofBundle;
    use truffle::protocol::transfer::History;
    use truffle::protocol::unit::UnitProof;

    let proof: UnitProof = match read_published(unit, "unit proof").await {
        Ok(p) => p,
        Err(code) => return code,
    };
    // Beside the unit proof on its server, unless named.
    let beside = |given: Option<&str>, path: String, flag: &str| match given {
        Some(p) => Ok(p.to_owned()),
        None => reqwest::Url::parse(unit)
            .and_then(|u| u.join(&path))
            .map(|u| u.to_string())
            .map_err(|_| {
                eprintln!("give {flag}: the unit proof is a file, so its server is unknown");
                ExitCode::from(2)
            }),
    };
    let product_source = match beside(
        product,
        format!("/v1/products/{}/proof", proof.unit.product_id),
        "--product",
    ) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let history_source = match beside(
        history,
        format!("/v1/units/{}/history", proof.unit.code),
        "--history",
    ) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let bundle: ProofBundle = match read_published(&product_source, "proof bundle").await {
        Ok(b) => b,
        Err(code) => return code,
    };
    let owners: History = match read_published(&history_source, "history of owners").await {
        Ok(h) => h,
        Err(code) => return code,
    };
    let mut verdict = verify_unit(&proof, &bundle, trust).await;
    let owned = verify_history(&owners, &proof.unit_hash, &proof.unit.code, trust).await;
    verdict.checks.extend(owned.checks);
    println!(
        "unit {} of {} ({}), code {}, {} owner record(s)",
        proof.unit.serial,
        proof.unit.edition_size,
        bundle
            .record
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("?"),
        proof.unit.code,
        owners.transfers.len()
    );
    print_checks(&verdict);
    if verdict.ok() {
        println!(
            "UNIT VERIFIED: issued by the product's seller and anchored on chain {}",
            trust.chain_id
        );
        ExitCode::SUCCESS
    } else {
        println!("UNIT NOT VERIFIED: failed {}", verdict.failed().join(", "));
        ExitCode::FAILURE
    }
}

/// `truffle verify-draw`: one line per check and a verdict; exits 0 only if every check passes.
async fn verify_draw(
    draw: &str,
    tickets: Option<&str>,
    raffle: Option<uuid::Uuid>,
    trust: &truffle::chain::verify::Trust,
) -> ExitCode {
    use truffle::chain::verify::verify_draw;
    use truffle::protocol::draw::DrawRecord;

    let record: DrawRecord = match read_published(draw, "draw record").await {
        Ok(r) => r,
        Err(code) => return code,
    };
    let tickets_source = match tickets {
        Some(t) => t.to_owned(),
        None => match reqwest::Url::parse(draw).and_then(|u| u.join(&record.tickets_url)) {
            Ok(url) => url.to_string(),
            Err(_) => {
                eprintln!(
                    "give --tickets: the draw record is a file, so the list's URL is unknown"
                );
                return ExitCode::from(2);
            }
        },
    };
    let text = match fetch(&tickets_source).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let list = match truffle::protocol::draw::parse_ticket_list(&text) {
        Ok(list) => list,
        Err(e) => {
            eprintln!("not the published ticket list: {e}");
            return ExitCode::FAILURE;
        }
    };
    let verdict = verify_draw(&record, &list, raffle, trust).await;
    println!(
        "raffle {} ({} tickets, {} winner(s))",
        record.raffle_id,
        list.len(),
        record.winners
    );
    print_checks(&verdict);
    if verdict.ok() && verdict.empty_raffle {
        println!(
            "EMPTY RAFFLE VERIFIED: no tickets, so nothing was drawn; the published seed matches the seed hash committed on chain"
        );
        ExitCode::SUCCESS
    } else if verdict.ok() {
        println!(
            "DRAW VERIFIED: the published winners are the ones the chain and the ticket list give"
        );
        ExitCode::SUCCESS
    } else {
        println!("DRAW NOT VERIFIED: failed {}", verdict.failed().join(", "));
        ExitCode::FAILURE
    }
}

/// `truffle verify`: prints one line per check and a verdict; exits 0 only if every check passes.
async fn verify(bundle: &str, trust: &truffle::chain::verify::Trust) -> ExitCode {
    use truffle::chain::verify::verify_bundle;
    use truffle::protocol::bundle::ProofBundle;

    let parsed: ProofBundle = match read_published(bundle, "proof bundle").await {
        Ok(b) => b,
        Err(code) => return code,
    };
    let verdict = verify_bundle(&parsed, trust).await;
    let name = parsed
        .record
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or("?");
    println!("product record {} ({name})", parsed.content_hash);
    print_checks(&verdict);
    if verdict.ok() {
        println!(
            "VERIFIED: signed by {}, anchored on chain {}, not revoked",
            parsed.seller_address, trust.chain_id
        );
        ExitCode::SUCCESS
    } else {
        println!("NOT VERIFIED: failed {}", verdict.failed().join(", "));
        ExitCode::FAILURE
    }
}
