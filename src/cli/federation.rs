//! `ozg-registry federation …`: identity, peers and syncing.

use super::connect;
use clap::Subcommand;
use ozg_registry::settings::Settings;
use ozg_registry::startup::{self};
use ozg_registry::store::PoolOptions;

#[derive(Subcommand)]
pub(crate) enum FederationCommand {
    /// Show this instance's id and public key; set the id (before peers know it, or with --force).
    Identity {
        #[arg(long)]
        instance_id: Option<String>,
        /// Change an id that exists already (peers will see this instance's records as new ones).
        #[arg(long)]
        force: bool,
    },
    /// Peers this registry replicates from.
    #[command(subcommand)]
    Peer(PeerCommand),
    /// Pull every peer's feed once (or one peer's).
    Sync {
        #[arg(long)]
        peer: Option<String>,
        /// Ask peers whose circuit is open, too.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum PeerCommand {
    /// Register a peer: its base URL, its instance id, and its public key (or --trust-fetched-key).
    Add {
        #[arg(long)]
        url: String,
        #[arg(long)]
        instance_id: String,
        /// The peer's Ed25519 public key (the JWK's x, base64url).
        #[arg(long)]
        public_key: Option<String>,
        /// Pin the key the peer serves now.
        #[arg(long)]
        trust_fetched_key: bool,
    },
    /// List peers with their sync status.
    List,
    /// Stop replicating from a peer (its records stay, read-only).
    Remove { instance_id: String },
}

pub(crate) fn federation(settings: &Settings, cmd: FederationCommand) -> Result<(), String> {
    use ozg_registry::federation::{self, FederationConfig, client::PeerClient, peers, sync};
    use ozg_registry::store::federation as store;
    let cfg = settings.federation.clone();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    match cmd {
        FederationCommand::Identity { instance_id, force } => {
            let mut conn = connect(settings)?;
            if let Some(id) = &instance_id {
                federation::check_instance_id(id)?;
                let stored = store::identity(&mut conn).map_err(|e| e.to_string())?;
                match stored {
                    Some(row) if &row.instance_id != id && !force => {
                        return Err(format!(
                            "this database is instance {:?}; pass --force to rename it (peers will see its records as new ones)",
                            row.instance_id
                        ));
                    }
                    Some(_) => {
                        store::set_instance_id(&mut conn, id).map_err(|e| e.to_string())?;
                    }
                    None => {}
                }
            }
            let cfg = FederationConfig { instance_id: instance_id.or(cfg.instance_id), ..cfg };
            let me = federation::identity(&mut conn, &cfg).map_err(|e| e.to_string())?;
            println!("instance {}\npublic key {}", me.instance_id, me.key.public_x());
            Ok(())
        }
        FederationCommand::Peer(PeerCommand::Add { url: peer_url, instance_id, public_key, trust_fetched_key }) => {
            let mut conn = connect(settings)?;
            let client = PeerClient::new(cfg.peer_timeout)?;
            let done = runtime.block_on(peers::register(
                &mut conn,
                &client,
                &peer_url,
                &instance_id,
                public_key.as_deref(),
                trust_fetched_key,
            ))?;
            println!("{done}");
            Ok(())
        }
        FederationCommand::Peer(PeerCommand::List) => {
            let mut conn = connect(settings)?;
            for p in store::peers(&mut conn).map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\tcursor {}\timported {}\tlast success {}\tlast error {}",
                    p.instance_id,
                    p.base_url,
                    p.feed_cursor,
                    p.imported,
                    p.last_success_at.as_deref().unwrap_or("-"),
                    p.last_error.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        FederationCommand::Peer(PeerCommand::Remove { instance_id }) => {
            let mut conn = connect(settings)?;
            match store::delete_peer(&mut conn, &instance_id).map_err(|e| e.to_string())? {
                0 => Err(format!("no peer {instance_id}")),
                _ => {
                    println!("peer {instance_id} removed; its records stay, read-only");
                    Ok(())
                }
            }
        }
        FederationCommand::Sync { peer, force } => {
            let pool = startup::prepare(&settings.database_url, None, &settings.auth, PoolOptions::new(2))?;
            let client = PeerClient::new(cfg.peer_timeout)?;
            // One sync at a time per database: wait for the lease as long as a dead holder's lasts.
            let outcomes = runtime
                .block_on(ozg_registry::jobs::run_once(
                    &pool,
                    ozg_registry::jobs::FEDERATION,
                    cfg.lease_ttl,
                    cfg.lease_ttl + std::time::Duration::from_secs(1),
                    sync::round(&pool, &client, &cfg, peer.as_deref(), force, None),
                ))?
                .map_err(|e| e.to_string())?;
            if let Some(p) = &peer
                && outcomes.is_empty()
            {
                return Err(format!("no peer {p}"));
            }
            let mut failed = false;
            for o in &outcomes {
                println!("{o}");
                failed |= o.error.is_some();
            }
            if failed { Err("a peer failed to sync (see above)".into()) } else { Ok(()) }
        }
    }
}
