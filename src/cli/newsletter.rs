//! `ozg-registry newsletter subscribers|render-for`.

use super::connect;
use clap::Subcommand;
use ozg_registry::domain::SubscriberStatus;
use ozg_registry::settings::Settings;

#[derive(Subcommand)]
pub(crate) enum NewsletterAction {
    /// List a newsletter's subscribers with the confirmation link each would be mailed.
    Subscribers {
        #[arg(long)]
        definition: String,
        /// The registry's public base URL for the links.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
    /// Show exactly what one subscriber receives of an edition (default: the latest).
    RenderFor {
        #[arg(long)]
        definition: String,
        /// The subscriber's e-mail address.
        #[arg(long)]
        email: String,
        #[arg(long)]
        edition: Option<i32>,
        #[arg(long, default_value = "text")]
        format: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
}

pub(crate) fn newsletter_action(settings: &Settings, action: NewsletterAction) -> Result<(), String> {
    use ozg_registry::store::newsletter as store;
    let mut conn = connect(settings)?;
    match action {
        NewsletterAction::Subscribers { definition, base_url } => {
            let def = store::definition_by_slug(&mut conn, &definition)
                .map_err(|e| e.to_string())?
                .ok_or("no such newsletter")?;
            for s in store::subscribers(&mut conn, def.id).map_err(|e| e.to_string())? {
                let link = if s.status == SubscriberStatus::Pending {
                    format!("{base_url}/newsletter/confirm?token={}", s.confirm_token)
                } else {
                    String::new()
                };
                println!("{}\t{}\t{link}", s.email, s.status);
            }
            Ok(())
        }
        NewsletterAction::RenderFor { definition, email, edition, format, base_url } => {
            let format = ozg_registry::newsletter::Format::parse(&format).ok_or("format: one of html, md, text")?;
            let def = store::definition_by_slug(&mut conn, &definition)
                .map_err(|e| e.to_string())?
                .ok_or("no such newsletter")?;
            let sub = store::subscriber_by_email(&mut conn, def.id, &email.to_lowercase())
                .map_err(|e| e.to_string())?
                .filter(|s| s.status == SubscriberStatus::Confirmed)
                .ok_or("no confirmed subscriber with that address")?;
            let editions = store::editions(&mut conn, def.id).map_err(|e| e.to_string())?;
            let ed = match edition {
                Some(n) => editions.into_iter().find(|e| e.number == n),
                None => editions.into_iter().last(),
            }
            .ok_or("no such edition")?;
            let link = format!("{base_url}/newsletter/unsubscribe?token={}", sub.unsubscribe_token);
            println!("To: {}\nSubject: {} – Ausgabe {}\n", sub.email, def.title, ed.number);
            print!("{}", ozg_registry::service::newsletter::render_for(&ed, format, &link));
            Ok(())
        }
    }
}
