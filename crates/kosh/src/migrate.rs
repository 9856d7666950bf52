//! `kosh migrate`: applies pending schema migrations and says which.
//!
//! `kosh serve` migrates on start too; this command is for deploy pipelines that want
//! the schema in place (and a clear answer) before any node starts.

use crate::serve::StoreArgs;
use clap::Args;
use kosh_store::migrate::MIGRATIONS;

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

pub async fn run(args: MigrateArgs) -> Result<(), String> {
    let store = args.store.connect().await?;
    let describe = store.location().describe();
    let applied = store.migrate().await.map_err(|e| format!("cannot migrate {describe}: {e}"))?;
    if applied.is_empty() {
        let latest = MIGRATIONS.last().map_or(0, |m| m.version);
        println!("{describe}: up to date (schema version {latest})");
    }
    for version in applied {
        let name = MIGRATIONS.iter().find(|m| m.version == version).map_or("", |m| m.name);
        println!("{describe}: applied migration {version} {name}");
    }
    Ok(())
}
