//! SLA mutations: pause, resume, recompute and policy administration.

use super::*;

#[derive(Default)]
pub struct SlaMutation;

#[Object]
impl SlaMutation {
    /// Creates a business-hours calendar (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn create_business_calendar(
        &self,
        ctx: &Context<'_>,
        input: BusinessCalendarInput,
    ) -> async_graphql::Result<BusinessCalendar> {
        sla::save_calendar(db(ctx), settings(ctx), None, input.into(), Utc::now())
            .await
            .map(BusinessCalendar)
            .api()
    }

    /// Replaces a calendar and re-evaluates open SLAs; closed ones keep
    /// what they measured (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn update_business_calendar(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: BusinessCalendarInput,
    ) -> async_graphql::Result<BusinessCalendar> {
        sla::save_calendar(
            db(ctx),
            settings(ctx),
            Some(parse_int(&id)?),
            input.into(),
            Utc::now(),
        )
        .await
        .map(BusinessCalendar)
        .api()
    }

    /// Deletes a calendar that no SLA policy uses (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn delete_business_calendar(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<bool> {
        sla::delete_calendar(db(ctx), parse_int(&id)?).await.api()?;
        Ok(true)
    }

    /// Pauses an incident's SLA clocks (users and admins).
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn pause_sla(
        &self,
        ctx: &Context<'_>,
        incident_id: ID,
        reason: String,
    ) -> async_graphql::Result<Incident> {
        let c = caller(ctx)?;
        sla::pause(
            db(ctx),
            settings(ctx),
            &c.scope,
            Some(c.account.id),
            &incident_id,
            &reason,
            Utc::now(),
        )
        .await
        .api()?;
        reload(ctx, &incident_id).await
    }

    /// Resumes an incident's paused SLA clocks (users and admins).
    #[graphql(guard = "RoleGuard(Role::User)")]
    async fn resume_sla(
        &self,
        ctx: &Context<'_>,
        incident_id: ID,
    ) -> async_graphql::Result<Incident> {
        let c = caller(ctx)?;
        sla::resume(
            db(ctx),
            settings(ctx),
            &c.scope,
            Some(c.account.id),
            &incident_id,
            Utc::now(),
        )
        .await
        .api()?;
        reload(ctx, &incident_id).await
    }

    /// Creates an SLA policy and re-evaluates open SLAs (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn create_sla_policy(
        &self,
        ctx: &Context<'_>,
        input: SlaPolicyInput,
    ) -> async_graphql::Result<SlaPolicy> {
        sla::save_policy(
            db(ctx),
            settings(ctx),
            None,
            input.into_domain()?,
            Utc::now(),
        )
        .await
        .map(SlaPolicy)
        .api()
    }

    /// Replaces an SLA policy and re-evaluates open SLAs; closed ones keep
    /// the policy they were measured by (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn update_sla_policy(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: SlaPolicyInput,
    ) -> async_graphql::Result<SlaPolicy> {
        sla::save_policy(
            db(ctx),
            settings(ctx),
            Some(parse_int(&id)?),
            input.into_domain()?,
            Utc::now(),
        )
        .await
        .map(SlaPolicy)
        .api()
    }

    /// Deletes an SLA policy (admins); open SLAs move to the next match.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn delete_sla_policy(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        sla::delete_policy(db(ctx), settings(ctx), parse_int(&id)?)
            .await
            .api()?;
        Ok(true)
    }

    /// Recomputes the SLAs of incidents created in `[from, to)`, closed ones
    /// included, with today's policies (admins), inside this request, and
    /// returns the targets written. For more than a few thousand incidents
    /// use `startSlaRecompute`, which runs the same work as a job.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn recompute_slas(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> async_graphql::Result<i32> {
        let n = sla::recompute_range(db(ctx), settings(ctx), from, to, |_, _| {
            std::ops::ControlFlow::Continue(())
        })
        .await
        .api()?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// Queues a recompute of the SLAs of incidents created in `[from, to)`,
    /// closed ones included, with today's policies (admins): an
    /// `sla_recompute` job with progress, cancellable, whose result gives
    /// the incidents and targets written.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn start_sla_recompute(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> async_graphql::Result<crate::graphql::jobs::Job> {
        if to <= from {
            return Err(ApiError::bad_input("the range must end after it starts")).api();
        }
        crate::graphql::jobs::enqueue(
            ctx,
            caller(ctx)?,
            &crate::jobs::kinds::SlaRecomputeJob { from, to },
        )
        .await
    }

    /// Runs the breach check now (admins; the scheduler runs it every 5 minutes).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn run_sla_check(&self, ctx: &Context<'_>) -> async_graphql::Result<SlaCheckResult> {
        let r = sla::check(db(ctx), settings(ctx), Utc::now()).await.api()?;
        Ok(SlaCheckResult {
            breached: i32::try_from(r.breached).unwrap_or(i32::MAX),
            warned: i32::try_from(r.warned).unwrap_or(i32::MAX),
        })
    }
}

pub(super) async fn reload(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Incident> {
    let c = caller(ctx)?;
    crate::incidents::find_many(db(ctx), &c.scope, std::slice::from_ref(&id.0))
        .await
        .api()?
        .remove(&id.0)
        .map(Incident)
        .ok_or_else(|| ApiError::NotFound(format!("No incident with id {:?}", id.0)))
        .api()
}
