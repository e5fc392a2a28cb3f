//! `pagerlens migrate`: apply, roll back or list the database migrations.

use clap::Subcommand;
use migration::{Migrator, MigratorTrait};

use crate::config::Config;
use crate::db;

#[derive(Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the last migration (or the last N).
    Down {
        /// How many migrations to roll back.
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

pub(super) async fn run(action: MigrateAction, config: Config) -> anyhow::Result<()> {
    let conn = db::connect(&config).await?;
    match action {
        MigrateAction::Up => {
            Migrator::up(&conn, None).await?;
            println!("all migrations applied");
        }
        MigrateAction::Down { steps } => {
            Migrator::down(&conn, Some(steps)).await?;
            println!("rolled back {steps} migration(s)");
        }
        MigrateAction::Status => {
            for m in Migrator::get_migration_with_status(&conn).await? {
                println!(
                    "{:<10} {}",
                    format!("{:?}", m.status()).to_lowercase(),
                    m.name()
                );
            }
        }
    }
    Ok(())
}
