use clap::Parser;
use paylinks::server::{
    admin, demo,
    config::{leptos_options, Cli, Command},
    http,
};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
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
        Command::Demo => {
            let state = http::build_state(config, leptos_options).await?;
            let result = demo::seed(&state.db).await;
            state.db.close().await;
            result
        }
        Command::Admin(command) => {
            let state = http::build_state(config, leptos_options).await?;
            let result = admin::run(&state.db, command).await;
            state.db.close().await;
            result
        }
    }
}
