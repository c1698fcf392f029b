//! The mutation root: every write goes through `run`, which records refused attempts.

use juniper::{FieldResult, GraphQLObject, graphql_object};

use super::super::context::Ctx;
use super::super::errors::{UserError, field_error, payload};
use super::super::inputs;
use super::super::types::*;
use crate::domain::Vocabulary;
use crate::error::AppError;
use crate::service;

macro_rules! payload_type {
    ($name:ident, $field:ident, $ty:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(GraphQLObject)]
        #[graphql(context = Ctx)]
        pub struct $name {
            pub $field: Option<$ty>,
            /// Expected outcomes (validation, conflicts, illegal transitions); empty on success.
            pub user_errors: Vec<UserError>,
        }
    };
}

payload_type!(ProjectPayload, project, Project, "The result of a project mutation.");
payload_type!(MilestonePayload, milestone, Milestone, "The result of a milestone mutation.");
payload_type!(StepPayload, step, Step, "The result of a step mutation.");
payload_type!(ParticipationPayload, participation, Participation, "The result of a participation mutation.");
payload_type!(CallPayload, call, Call, "The result of a call mutation.");
payload_type!(OrganisationPayload, organisation, Organisation, "The result of an organisation mutation.");
payload_type!(NewsletterDefinitionPayload, definition, NewsletterDefinition, "The result of saving a newsletter.");
payload_type!(NewsletterEditionPayload, edition, NewsletterEdition, "The result of publishing an edition.");
payload_type!(ContactPayload, contact, Contact, "The result of a contact mutation.");
payload_type!(ReuseDeclarationPayload, reuse_declaration, ReuseDeclaration, "The result of a reuse mutation.");
payload_type!(DeletePayload, deleted_id, juniper::ID, "The result of a deletion: the id of the deleted record.");

pub struct Mutation;

/// Runs a service operation on the request's connection and drops every cached read afterwards.
/// A refused attempt (FORBIDDEN, UNAUTHENTICATED) is recorded in the change log with its actor.
pub(super) fn run<T>(
    ctx: &Ctx,
    operation: &str,
    f: impl FnOnce(&mut crate::store::Db, &service::Actor) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let r = ctx.with_conn(|c| {
        service::attempt(c, &ctx.actor, operation, |c, a| {
            crate::auth::policy::require_authenticated(a, operation)?;
            f(c, a)
        })
    });
    ctx.forget();
    r
}

#[graphql_object(context = Ctx)]
impl Mutation {
    /// Coordinators: create an implementation project.
    fn create_project(context: &Ctx, input: inputs::CreateProjectInput) -> FieldResult<ProjectPayload> {
        let (p, user_errors) =
            payload(run(context, "createProject", |c, a| service::projects::create_project(c, a, input.try_into()?)))?;
        Ok(ProjectPayload { project: p.map(|p| context.projects(vec![p]).remove(0)), user_errors })
    }

    /// Coordinators: change a project's title, summary, lead Land, delivery model, status note or services.
    fn update_project(context: &Ctx, input: inputs::UpdateProjectInput) -> FieldResult<ProjectPayload> {
        let (p, user_errors) =
            payload(run(context, "updateProject", |c, a| service::projects::update_project(c, a, input.try_into()?)))?;
        Ok(ProjectPayload { project: p.map(|p| context.projects(vec![p]).remove(0)), user_errors })
    }

    /// Coordinators: move a project to another phase; only allowed transitions.
    fn change_project_phase(context: &Ctx, input: inputs::ChangePhaseInput) -> FieldResult<ProjectPayload> {
        let (p, user_errors) = payload(run(context, "changeProjectPhase", |c, a| {
            service::projects::change_phase(c, a, input.try_into()?)
        }))?;
        Ok(ProjectPayload { project: p.map(|p| context.projects(vec![p]).remove(0)), user_errors })
    }

    fn add_milestone(context: &Ctx, input: inputs::AddMilestoneInput) -> FieldResult<MilestonePayload> {
        let (m, user_errors) =
            payload(run(context, "addMilestone", |c, a| service::projects::add_milestone(c, a, input.try_into()?)))?;
        Ok(MilestonePayload { milestone: m.map(Milestone), user_errors })
    }

    /// Coordinators: append a step to a project's plan.
    fn add_step(context: &Ctx, input: inputs::AddStepInput) -> FieldResult<StepPayload> {
        let (s, user_errors) =
            payload(run(context, "addStep", |c, a| service::projects::add_step(c, a, input.try_into()?)))?;
        Ok(StepPayload { step: s.map(Step), user_errors })
    }

    /// Coordinators: set a step's status (planned, in progress, done).
    fn set_step_status(context: &Ctx, input: inputs::SetStepStatusInput) -> FieldResult<StepPayload> {
        let (s, user_errors) =
            payload(run(context, "setStepStatus", |c, a| service::projects::set_step_status(c, a, input.try_into()?)))?;
        Ok(StepPayload { step: s.map(Step), user_errors })
    }

    fn complete_milestone(context: &Ctx, input: inputs::CompleteMilestoneInput) -> FieldResult<MilestonePayload> {
        let (m, user_errors) = payload(run(context, "completeMilestone", |c, a| {
            service::projects::complete_milestone(c, a, input.try_into()?)
        }))?;
        Ok(MilestonePayload { milestone: m.map(Milestone), user_errors })
    }

    /// Coordinators: record an organisation's participation (confirmed unless `confirmed: false`).
    fn add_participation(context: &Ctx, input: inputs::AddParticipationInput) -> FieldResult<ParticipationPayload> {
        let (p, user_errors) = payload(run(context, "addParticipation", |c, a| {
            service::participation::add_participation(c, a, input.try_into()?)
        }))?;
        Ok(ParticipationPayload { participation: p.map(|p| context.participations(vec![p]).remove(0)), user_errors })
    }

    fn confirm_participation(
        context: &Ctx,
        input: inputs::ParticipationStatusInput,
    ) -> FieldResult<ParticipationPayload> {
        let (p, user_errors) = payload(run(context, "confirmParticipation", |c, a| {
            service::participation::confirm_participation(c, a, input.try_into()?)
        }))?;
        Ok(ParticipationPayload { participation: p.map(|p| context.participations(vec![p]).remove(0)), user_errors })
    }

    fn withdraw_participation(
        context: &Ctx,
        input: inputs::ParticipationStatusInput,
    ) -> FieldResult<ParticipationPayload> {
        let (p, user_errors) = payload(run(context, "withdrawParticipation", |c, a| {
            service::participation::withdraw_participation(c, a, input.try_into()?)
        }))?;
        Ok(ParticipationPayload { participation: p.map(|p| context.participations(vec![p]).remove(0)), user_errors })
    }

    /// Kommunen: sign up for a project as PILOT, CORE_TEAM or EXTENDED_TEAM (status REQUESTED).
    fn sign_up(context: &Ctx, input: inputs::SignUpInput) -> FieldResult<ParticipationPayload> {
        let (p, user_errors) =
            payload(run(context, "signUp", |c, a| service::participation::sign_up(c, a, input.try_into()?)))?;
        Ok(ParticipationPayload { participation: p.map(|p| context.participations(vec![p]).remove(0)), user_errors })
    }

    /// Coordinators: open a call for participation.
    fn open_call(context: &Ctx, input: inputs::OpenCallInput) -> FieldResult<CallPayload> {
        let (call, user_errors) =
            payload(run(context, "openCall", |c, a| service::calls::open_call(c, a, input.try_into()?)))?;
        Ok(CallPayload { call: call.map(|c| context.calls(vec![c]).remove(0)), user_errors })
    }

    fn close_call(context: &Ctx, input: inputs::CloseCallInput) -> FieldResult<CallPayload> {
        let (call, user_errors) =
            payload(run(context, "closeCall", |c, a| service::calls::close_call(c, a, input.try_into()?)))?;
        Ok(CallPayload { call: call.map(|c| context.calls(vec![c]).remove(0)), user_errors })
    }

    /// Coordinators: delete a call opened by mistake (answers already given stay as participations).
    /// Peers replicating it delete it too.
    fn delete_call(context: &Ctx, input: inputs::CloseCallInput) -> FieldResult<DeletePayload> {
        let (id, user_errors) =
            payload(run(context, "deleteCall", |c, a| service::calls::delete_call(c, a, input.try_into()?)))?;
        Ok(DeletePayload { deleted_id: id.map(|i| juniper::ID::new(i.to_string())), user_errors })
    }

    /// Kommunen and Länder: declare interest in reusing a project's solution.
    fn declare_reuse_interest(context: &Ctx, input: inputs::DeclareReuseInput) -> FieldResult<ReuseDeclarationPayload> {
        let (r, user_errors) = payload(run(context, "declareReuseInterest", |c, a| {
            service::reuse::declare_reuse(c, a, input.try_into()?)
        }))?;
        Ok(ReuseDeclarationPayload { reuse_declaration: r.map(|r| context.reuse(vec![r]).remove(0)), user_errors })
    }

    /// Move a reuse declaration along its lifecycle (INTEREST → NEGOTIATING → AGREED → ONBOARDING → LIVE, or DECLINED).
    fn advance_reuse_declaration(
        context: &Ctx,
        input: inputs::AdvanceReuseInput,
    ) -> FieldResult<ReuseDeclarationPayload> {
        let (r, user_errors) = payload(run(context, "advanceReuseDeclaration", |c, a| {
            service::reuse::advance_reuse(c, a, input.try_into()?)
        }))?;
        Ok(ReuseDeclarationPayload { reuse_declaration: r.map(|r| context.reuse(vec![r]).remove(0)), user_errors })
    }

    fn withdraw_reuse_declaration(
        context: &Ctx,
        input: inputs::WithdrawReuseInput,
    ) -> FieldResult<ReuseDeclarationPayload> {
        let (r, user_errors) = payload(run(context, "withdrawReuseDeclaration", |c, a| {
            service::reuse::withdraw_reuse(c, a, input.try_into()?)
        }))?;
        Ok(ReuseDeclarationPayload { reuse_declaration: r.map(|r| context.reuse(vec![r]).remove(0)), user_errors })
    }

    /// Add a contact person to an organisation or a project.
    fn add_contact(context: &Ctx, input: inputs::AddContactInput) -> FieldResult<ContactPayload> {
        let (c, user_errors) =
            payload(run(context, "addContact", |c, a| service::contacts::add_contact(c, a, input.try_into()?)))?;
        Ok(ContactPayload { contact: c.map(Contact), user_errors })
    }

    /// Admins: register an organisation; AGS, ARS and Kreisschlüssel must be consistent with its Land.
    fn create_organisation(context: &Ctx, input: inputs::CreateOrganisationInput) -> FieldResult<OrganisationPayload> {
        let (o, user_errors) = payload(run(context, "createOrganisation", |c, a| {
            service::organisations::create_organisation(c, a, input.try_into()?)
        }))?;
        Ok(OrganisationPayload { organisation: o.map(|o| context.organisations(vec![o]).remove(0)), user_errors })
    }

    /// Coordinators of the topic field: define a newsletter.
    fn save_newsletter_definition(
        context: &Ctx,
        input: inputs::SaveNewsletterDefinitionInput,
    ) -> FieldResult<NewsletterDefinitionPayload> {
        let (d, user_errors) = payload(run(context, "saveNewsletterDefinition", |c, a| {
            service::newsletter::save_definition(c, a, input.try_into()?)
        }))?;
        Ok(NewsletterDefinitionPayload { definition: d.map(NewsletterDefinition), user_errors })
    }

    /// Coordinators of the topic field: publish the next edition; the same idempotency key
    /// returns the edition it published the first time.
    fn publish_newsletter_edition(
        context: &Ctx,
        input: inputs::PublishEditionInput,
    ) -> FieldResult<NewsletterEditionPayload> {
        let (e, user_errors) = payload(run(context, "publishNewsletterEdition", |c, a| {
            service::newsletter::publish_edition(c, a, input.try_into()?)
        }))?;
        Ok(NewsletterEditionPayload { edition: e.map(NewsletterEdition), user_errors })
    }

    /// Anyone: subscribe an e-mail address (double opt-in: the subscription counts once confirmed).
    /// The answer does not tell whether the address was subscribed already.
    fn subscribe_newsletter(context: &Ctx, input: inputs::SubscribeInput) -> FieldResult<Vec<UserError>> {
        let (_, user_errors) = payload(run(context, "subscribeNewsletter", |c, a| {
            service::newsletter::subscribe(c, a, input.try_into()?)
        }))?;
        Ok(user_errors)
    }

    /// Anyone holding the link: confirm a subscription (double opt-in).
    fn confirm_newsletter_subscription(context: &Ctx, token: String) -> FieldResult<SubscriptionState> {
        let s = run(context, "confirmNewsletterSubscription", |c, a| service::newsletter::confirm(c, a, &token))
            .map_err(field_error)?;
        Ok(SubscriptionState { status: s.status.code().to_owned() })
    }

    /// Anyone holding the link from an edition: unsubscribe.
    fn unsubscribe_newsletter(context: &Ctx, token: String) -> FieldResult<SubscriptionState> {
        let s = run(context, "unsubscribeNewsletter", |c, a| service::newsletter::unsubscribe(c, a, &token))
            .map_err(field_error)?;
        Ok(SubscriptionState { status: s.status.code().to_owned() })
    }
}

/// The state of a newsletter subscription: PENDING, CONFIRMED or UNSUBSCRIBED.
#[derive(GraphQLObject)]
pub struct SubscriptionState {
    pub status: String,
}
