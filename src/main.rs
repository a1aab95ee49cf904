use clap::Parser;
use paylinks::server::{
    admin,
    config::{leptos_options, Cli, Command},
    demo,
};
use paylinks::web::http;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let format = paylinks::server::observe::LogFormat::from_env()?;
    tracing_subscriber::registry()
        .with(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .with(paylinks::server::observe::log_layer(format, std::io::stdout))
        .init();
    let cli = Cli::parse();
    let leptos_options = leptos_options()?;
    let config = cli.config.settle(&leptos_options)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => http::serve(http::build_state(config, leptos_options).await?).await,
        Command::Migrate => {
            // Connecting migrates.
            let state = http::build_state(config, leptos_options).await?;
            state.db.close().await;
            println!("database is up to date");
            Ok(())
        }
        Command::Demo { force } => {
            demo::check_public_url(&config.public_url, force)?;
            let state = http::build_state(config, leptos_options).await?;
            let result = demo::seed(&state.db).await;
            state.db.close().await;
            let password = result?;
            println!("demo merchant: {} / {password}", demo::MERCHANT_EMAIL);
            println!("demo reviewer: {} / {password}", demo::REVIEWER_EMAIL);
            println!("(a new password each run; shown only now)");
            Ok(())
        }
        Command::Verify => {
            let state = http::build_state(config, leptos_options).await?;
            let mismatches = paylinks::server::payments::verify(&state.db).await;
            state.db.close().await;
            let mismatches = mismatches.map_err(|e| anyhow::anyhow!("verify failed: {e}"))?;
            for m in &mismatches {
                eprintln!("{m}");
            }
            anyhow::ensure!(mismatches.is_empty(), "{} disagreement(s) between statistics and payments", mismatches.len());
            println!("statistics agree with the payments");
            Ok(())
        }
        Command::Backup { path } => {
            let state = http::build_state(config, leptos_options).await?;
            let result = state.db.backup(&path).await;
            state.db.close().await;
            result?;
            println!("backup written to {} (integrity check: ok)", path.display());
            Ok(())
        }
        Command::Admin(command) => {
            let state = http::build_state(config, leptos_options).await?;
            let result = admin::run(&state.db, command).await;
            state.db.close().await;
            result
        }
    }
}
