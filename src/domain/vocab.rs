//! Closed vocabularies of the domain: each value has a stable code (the GraphQL enum value and the
//! database text) and a German label. Lifecycles keep their allowed transitions next to them.

use std::fmt;

/// A string that is not one of a vocabulary's codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCode {
    pub vocabulary: &'static str,
    pub found: String,
    pub allowed: Vec<&'static str>,
}

impl fmt::Display for InvalidCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a {}; allowed: {}", self.found, self.vocabulary, self.allowed.join(", "))
    }
}

/// What every vocabulary offers.
pub trait Vocabulary: Sized + Copy + 'static {
    const NAME: &'static str;
    const ALL: &'static [Self];
    fn code(self) -> &'static str;
    fn label(self) -> &'static str;
    fn parse(s: &str) -> Result<Self, InvalidCode> {
        Self::ALL.iter().copied().find(|v| v.code() == s).ok_or_else(|| InvalidCode {
            vocabulary: Self::NAME,
            found: s.to_owned(),
            allowed: Self::ALL.iter().map(|v| v.code()).collect(),
        })
    }
    fn codes(values: &[Self]) -> String {
        values.iter().map(|v| v.code()).collect::<Vec<_>>().join(", ")
    }
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, $gql:literal { $($var:ident = $code:literal, $label:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, juniper::GraphQLEnum)]
        #[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[graphql(name = $gql)]
        pub enum $name {
            $(#[graphql(name = $code, description = $label)] $var,)*
        }

        impl Vocabulary for $name {
            const NAME: &'static str = $gql;
            const ALL: &'static [Self] = &[$(Self::$var),*];
            fn code(self) -> &'static str {
                match self { $(Self::$var => $code,)* }
            }
            fn label(self) -> &'static str {
                match self { $(Self::$var => $label,)* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        /// The code, as the change log and the federation's records write it.
        impl From<$name> for serde_json::Value {
            fn from(v: $name) -> Self {
                serde_json::Value::from(v.code())
            }
        }
    };
}

vocabulary!(
    /// Phase of an implementation project.
    Phase, "Phase" {
        Preparation = "PREPARATION", "Vorbereitung";
        DigitalisationLab = "DIGITALISATION_LAB", "Digitalisierungslabor";
        Conception = "CONCEPTION", "Konzeption";
        Implementation = "IMPLEMENTATION", "Umsetzung";
        Pilot = "PILOT", "Pilotierung";
        RolloutState = "ROLLOUT_STATE", "Roll-out im Land";
        RolloutNationwide = "ROLLOUT_NATIONWIDE", "Bundesweiter Roll-out";
        Operation = "OPERATION", "Regelbetrieb";
        OnHold = "ON_HOLD", "Zurückgestellt";
        Discontinued = "DISCONTINUED", "Eingestellt";
        Merged = "MERGED", "In ein anderes Projekt überführt";
    }
);

impl Phase {
    /// Phases reachable from this one. `resume` is the phase a project on hold came from.
    pub fn allowed_next(self, resume: Option<Phase>) -> Vec<Phase> {
        use Phase::*;
        let forward: &[Phase] = match self {
            Preparation => &[DigitalisationLab, Conception, Implementation],
            DigitalisationLab => &[Conception],
            Conception => &[Implementation],
            Implementation => &[Pilot],
            Pilot => &[RolloutState, RolloutNationwide],
            RolloutState => &[RolloutNationwide, Operation],
            RolloutNationwide => &[Operation],
            Operation => &[],
            OnHold => &[],
            Discontinued | Merged => return vec![],
        };
        let mut next = forward.to_vec();
        match self {
            OnHold => {
                if let Some(p) = resume.filter(|p| !p.is_side_state()) {
                    next.push(p);
                }
                next.extend([Discontinued, Merged]);
            }
            Operation => next.push(Discontinued),
            RolloutState | RolloutNationwide => next.extend([OnHold, Discontinued]),
            _ => next.extend([OnHold, Discontinued, Merged]),
        }
        next
    }

    pub fn is_side_state(self) -> bool {
        matches!(self, Phase::OnHold | Phase::Discontinued | Phase::Merged)
    }
}

vocabulary!(
    /// How the solution of a project comes about.
    DeliveryModel, "DeliveryModel" {
        EfaDevelopedHere = "EFA_DEVELOPED_HERE", "Einer-für-Alle-Lösung, hier entwickelt";
        ReuseOfOtherEfa = "REUSE_OF_OTHER_EFA", "Nachnutzung der EfA-Lösung eines anderen Landes";
        LandSolution = "LAND_SOLUTION", "Landeslösung";
        MunicipalSolution = "MUNICIPAL_SOLUTION", "Kommunale Lösung";
        Undecided = "UNDECIDED", "Noch offen";
    }
);

vocabulary!(
    /// Kind of organisation.
    OrganisationKind, "OrganisationKind" {
        Land = "LAND", "Land";
        StateMinistry = "STATE_MINISTRY", "Landesministerium";
        FederalMinistry = "FEDERAL_MINISTRY", "Bundesministerium";
        Municipality = "MUNICIPALITY", "Kommune";
        District = "DISTRICT", "Kreis";
        ItServiceProvider = "IT_SERVICE_PROVIDER", "IT-Dienstleister";
        Association = "ASSOCIATION", "Verband";
        Vendor = "VENDOR", "Hersteller";
        DataProtectionAuthority = "DATA_PROTECTION_AUTHORITY", "Datenschutzaufsicht";
        Office = "OFFICE", "Dienststelle";
        Other = "OTHER", "Sonstige";
    }
);

vocabulary!(
    /// Role of an organisation in a project.
    ParticipationRole, "ParticipationRole" {
        ProjectLead = "PROJECT_LEAD", "Projektleitung";
        Client = "CLIENT", "Auftraggeber";
        Implementer = "IMPLEMENTER", "Umsetzer und Betreiber";
        DevelopmentPartner = "DEVELOPMENT_PARTNER", "Entwicklungspartner";
        Vendor = "VENDOR", "Hersteller";
        CoreTeam = "CORE_TEAM", "Mitarbeit zugesichert (Kernteam)";
        ExtendedTeam = "EXTENDED_TEAM", "An Mitarbeit interessiert (erweitertes Projektteam)";
        Pilot = "PILOT", "Pilotkommune";
        ModelRegion = "MODEL_REGION", "Modellregion";
        Advisor = "ADVISOR", "Beratung";
    }
);

impl ParticipationRole {
    /// Roles a Kommune may take by signing itself up; the others are assigned by coordinators.
    pub const SELF_SERVICE: &'static [ParticipationRole] =
        &[ParticipationRole::Pilot, ParticipationRole::CoreTeam, ParticipationRole::ExtendedTeam];
}

vocabulary!(
    /// Status of a participation.
    ParticipationStatus, "ParticipationStatus" {
        Requested = "REQUESTED", "Angefragt";
        Confirmed = "CONFIRMED", "Zugesagt";
        Withdrawn = "WITHDRAWN", "Zurückgezogen";
    }
);

impl ParticipationStatus {
    /// Statuses a Kommune sets itself (signing up, withdrawing); confirming is the project's.
    pub const SELF_SERVICE: &'static [ParticipationStatus] =
        &[ParticipationStatus::Requested, ParticipationStatus::Withdrawn];

    pub fn allowed_next(self) -> &'static [ParticipationStatus] {
        use ParticipationStatus::*;
        match self {
            Requested => &[Confirmed, Withdrawn],
            Confirmed => &[Withdrawn],
            Withdrawn => &[Requested],
        }
    }
}

vocabulary!(
    /// Lifecycle of a reuse declaration (Nachnutzung).
    ReuseStatus, "ReuseStatus" {
        Interest = "INTEREST", "Interesse bekundet";
        Negotiating = "NEGOTIATING", "In Abstimmung";
        Agreed = "AGREED", "Vereinbart";
        Onboarding = "ONBOARDING", "Anbindung läuft";
        Live = "LIVE", "In Betrieb";
        Declined = "DECLINED", "Abgelehnt";
        Withdrawn = "WITHDRAWN", "Zurückgezogen";
    }
);

impl ReuseStatus {
    pub fn allowed_next(self) -> &'static [ReuseStatus] {
        use ReuseStatus::*;
        match self {
            Interest => &[Negotiating, Declined, Withdrawn],
            Negotiating => &[Agreed, Declined, Withdrawn],
            Agreed => &[Onboarding, Withdrawn],
            Onboarding => &[Live, Withdrawn],
            Live => &[Withdrawn],
            Declined | Withdrawn => &[Interest],
        }
    }
    pub fn is_closed(self) -> bool {
        matches!(self, ReuseStatus::Declined | ReuseStatus::Withdrawn)
    }
    /// Agreeing to or declining a declaration is the providing side's decision (the project's
    /// coordinators at its home); every other step is the declaring organisation's.
    pub fn is_providers_decision(self) -> bool {
        matches!(self, ReuseStatus::Agreed | ReuseStatus::Declined)
    }
}

vocabulary!(
    /// Whether a call for participation still accepts answers.
    CallStatus, "CallStatus" {
        Open = "OPEN", "Offen";
        Closed = "CLOSED", "Geschlossen";
    }
);

vocabulary!(
    /// Kind of platform, transport, standard or method a project uses.
    PlatformKind, "PlatformKind" {
        Portal = "PORTAL", "Portal";
        Transport = "TRANSPORT", "Transportverfahren";
        DataStandard = "DATA_STANDARD", "Datenstandard";
        FormTechnology = "FORM_TECHNOLOGY", "Formulartechnik";
        StandardisationFormat = "STANDARDISATION_FORMAT", "Standardisierungsformat";
        Method = "METHOD", "Methode";
    }
);

vocabulary!(
    /// How a project uses a platform.
    PlatformUsage, "PlatformUsage" {
        HostsApplication = "HOSTS_APPLICATION", "Betreibt den Onlineantrag";
        EntryPoint = "ENTRY_POINT", "Zugang für Antragstellende";
        Transport = "TRANSPORT", "Übermittlung der Antragsdaten";
        DataStandard = "DATA_STANDARD", "Datenstandard";
        FormTechnology = "FORM_TECHNOLOGY", "Formulartechnik";
        Standardisation = "STANDARDISATION", "Erarbeitung eines Standards";
        Method = "METHOD", "Methode";
    }
);

vocabulary!(
    /// State of a funding source.
    FundingStatus, "FundingStatus" {
        ToCheck = "TO_CHECK", "Zu prüfen";
        Prepared = "PREPARED", "Vorbereitet";
        Applied = "APPLIED", "Beantragt";
        Granted = "GRANTED", "Bewilligt";
        Rejected = "REJECTED", "Abgelehnt";
    }
);

vocabulary!(
    /// State of a project step.
    StepStatus, "StepStatus" {
        Planned = "PLANNED", "Geplant";
        InProgress = "IN_PROGRESS", "In Arbeit";
        Done = "DONE", "Abgeschlossen";
    }
);

vocabulary!(
    /// Relation between two projects.
    RelationKind, "RelationKind" {
        MergedInto = "MERGED_INTO", "Überführt in";
        BuildsOn = "BUILDS_ON", "Baut auf auf";
        Reuses = "REUSES", "Nutzt nach";
    }
);

vocabulary!(
    /// Kind of event.
    EventKind, "EventKind" {
        Workshop = "WORKSHOP", "Workshop";
        Meeting = "MEETING", "Treffen";
        DigitalisationLab = "DIGITALISATION_LAB", "Digitalisierungslabor";
        Decision = "DECISION", "Entscheidung";
    }
);

vocabulary!(
    /// Prioritisation of an OZG-Leistung at Bund-Länder level.
    FederalPriority, "FederalPriority" {
        Unspecified = "UNSPECIFIED", "Nicht festgelegt";
        Low = "LOW", "Niedrig";
        Medium = "MEDIUM", "Mittel";
        High = "HIGH", "Hoch";
        Deprioritised = "DEPRIORITISED", "Auf Bund-Länder-Ebene depriorisiert";
    }
);

vocabulary!(
    /// What a change-log entry records.
    ChangeAction, "ChangeAction" {
        Create = "CREATE", "Angelegt";
        Update = "UPDATE", "Geändert";
        Delete = "DELETE", "Gelöscht";
        Import = "IMPORT", "Importiert";
    }
);

vocabulary!(
    /// Whether a change-log entry records a change that was made or an attempt that was refused.
    ChangeOutcome, "ChangeOutcome" {
        Applied = "APPLIED", "Ausgeführt";
        Denied = "DENIED", "Abgelehnt";
    }
);

vocabulary!(
    /// Where a newsletter subscription stands (double opt-in).
    SubscriberStatus, "SubscriberStatus" {
        Pending = "PENDING", "Unbestätigt";
        Confirmed = "CONFIRMED", "Bestätigt";
        Unsubscribed = "UNSUBSCRIBED", "Abbestellt";
    }
);

vocabulary!(
    /// Why the last sync with a peer failed. The description is the fixed message everyone sees;
    /// the detail is shown to admins only.
    PeerErrorCode, "PeerErrorCode" {
        BadSignature = "BAD_SIGNATURE", "An entry was not signed with the peer's pinned key (or not with EdDSA).";
        MalformedPage = "MALFORMED_PAGE", "The peer's feed page was malformed: unreadable, another instance's, out of order or with a cursor its entries do not support.";
        RefusedEntry = "REFUSED_ENTRY", "The page held an entry the peer may not make (a record homed elsewhere, another entity type, or a step reserved to the project's home); nothing was imported.";
        Timeout = "TIMEOUT", "The peer did not answer in time.";
        Unreachable = "UNREACHABLE", "The peer could not be reached, or the connection broke off.";
        HttpStatus = "HTTP_STATUS", "The peer answered with an HTTP error status.";
        Oversize = "OVERSIZE", "The peer's answer exceeded the size limit.";
        Redirect = "REDIRECT", "The peer answered with a redirect, which is not followed.";
        StoreFailed = "STORE_FAILED", "The page could not be stored here; the operator's log names the incident.";
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.code()).unwrap(), *p);
        }
        let err = Phase::parse("DONE").unwrap_err();
        assert!(err.to_string().contains("CONCEPTION"));
    }

    #[test]
    fn phase_transitions() {
        assert!(Phase::Conception.allowed_next(None).contains(&Phase::Implementation));
        assert!(!Phase::Conception.allowed_next(None).contains(&Phase::Operation));
        assert_eq!(
            Phase::OnHold.allowed_next(Some(Phase::Pilot)),
            vec![Phase::Pilot, Phase::Discontinued, Phase::Merged]
        );
        assert!(Phase::Merged.allowed_next(None).is_empty());
    }

    #[test]
    fn reuse_lifecycle() {
        assert!(ReuseStatus::Interest.allowed_next().contains(&ReuseStatus::Negotiating));
        assert!(!ReuseStatus::Interest.allowed_next().contains(&ReuseStatus::Live));
    }
}
