use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::ids::{CompanyId, UserId};
use crate::{
    entities::{company, user},
    error::{Error, Result},
    http::AppState,
    http::extract::{ApiJson, SESSION_AUTH_KEY, SessionAuth},
    tenancy::{AuthMethod, Principal, Role, accounts, tokens::IssuedToken},
    types::{CompanyName, Email, Password, PersonName},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    #[schema(value_type = Uuid)]
    pub id: UserId,
    pub email: String,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<user::Model> for UserView {
    fn from(u: user::Model) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyView {
    #[schema(value_type = Uuid)]
    pub id: CompanyId,
    pub name: String,
    /// The CRM's own id for this company, if set.
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<company::Model> for CompanyView {
    fn from(c: company::Model) -> Self {
        Self {
            id: c.id,
            name: c.name,
            external_id: c.external_id,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignupRequest {
    #[schema(example = "ada@example.com", format = Email, min_length = 3, max_length = 254)]
    email: String,
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128, pattern = "^[^\\u0000]*$")]
    password: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    #[serde(default)]
    name: Option<String>,
    #[schema(
        example = "Analytical Engines Ltd",
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    company_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(format = Email)]
    email: String,
    password: String,
    /// Which of your companies to act for; defaults to the first you joined.
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    company_id: Option<CompanyId>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    /// A bearer JWT for `Authorization: Bearer …`.
    token: String,
    expires_at: DateTime<Utc>,
    user: UserView,
    company: CompanyView,
    role: Role,
}

async fn start_session(session: &Session, user_id: UserId, company_id: CompanyId) -> Result<()> {
    // A new id on log-in, so a session id planted before log-in is worthless (fixation).
    session
        .cycle_id()
        .await
        .map_err(|e| Error::internal(anyhow::anyhow!("session: {e}")))?;
    session
        .insert(
            SESSION_AUTH_KEY,
            SessionAuth {
                user_id,
                company_id,
            },
        )
        .await
        .map_err(|e| Error::internal(anyhow::anyhow!("session: {e}")))
}

fn auth_response(
    issued: IssuedToken,
    user: user::Model,
    company: company::Model,
    role: Role,
) -> AuthResponse {
    AuthResponse {
        token: issued.token,
        expires_at: issued.expires_at,
        user: user.into(),
        company: company.into(),
        role,
    }
}

/// Create an account and its company
///
/// The new user owns the new company. Answers a token and also starts a session (cookie).
#[utoipa::path(post, path = "/auth/signup", tag = "auth", security(()),
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Account and company created", body = AuthResponse),
        (status = 409, description = "`email_taken`: an account with this email exists",
            body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn signup(
    State(state): State<AppState>,
    session: Session,
    ApiJson(body): ApiJson<SignupRequest>,
) -> Result<(StatusCode, Json<AuthResponse>)> {
    let email = Email::parse("email", &body.email)?;
    let password =
        Password::parse("password", &body.password)?.check_against_email("password", &email)?;
    let account = accounts::NewAccount {
        email,
        password,
        name: body
            .name
            .as_deref()
            .map(|n| PersonName::parse("name", n))
            .transpose()?,
        company_name: CompanyName::parse("companyName", &body.company_name)?,
    };
    let (user, company) = accounts::signup(&state.db, account).await?;
    tracing::info!(user.id = %user.id, company.id = %company.id, "account created");
    let issued = state.tokens.issue(user.id, company.id)?;
    start_session(&session, user.id, company.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(auth_response(issued, user, company, Role::Owner)),
    ))
}

/// Log in
///
/// Answers a bearer token and sets the session cookie. Throttled per the OWASP guidance: 10
/// attempts for one email from one address within 15 minutes (a success starts afresh), 100
/// failures from one address over all emails, then 429 with `Retry-After`; an email failing
/// from many addresses is slowed down (a second more per failure, up to 5 s), never locked
/// everywhere.
#[utoipa::path(post, path = "/auth/login", tag = "auth", security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = AuthResponse),
        (status = 401, description = "`invalid_credentials`: wrong email or password",
            body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`no_company`: the account belongs to no company",
            body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: too many failed log-ins",
            body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(state): State<AppState>,
    crate::http::extract::ClientAddress(client): crate::http::extract::ClientAddress,
    session: Session,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<AuthResponse>> {
    // Any syntactically invalid email simply cannot match an account.
    let email = Email::parse("email", &body.email).map_err(|_| {
        Error::new(
            crate::error::ErrorKind::Unauthenticated,
            "invalid_credentials",
            "The email or password is incorrect.",
        )
    })?;
    let logged_in = accounts::login(
        &state.db,
        state.state.as_ref(),
        &email,
        &body.password,
        body.company_id,
        client,
    )
    .await?;
    let (user, company, role) = (logged_in.user, logged_in.company, logged_in.role);
    let issued = state.tokens.issue(user.id, company.id)?;
    start_session(&session, user.id, company.id).await?;
    tracing::info!(user.id = %user.id, company.id = %company.id, "logged in");
    Ok(Json(auth_response(issued, user, company, role)))
}

/// Log out
///
/// Ends the session and, when called with a bearer JWT, revokes that token.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out")))]
async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    session: Session,
) -> Result<StatusCode> {
    if let AuthMethod::Token { jti, expires_at } = &principal.method {
        let remaining = (*expires_at - Utc::now().timestamp()).max(1);
        let ttl = std::time::Duration::from_secs(u64::try_from(remaining).unwrap_or(1) + 60);
        state
            .state
            .put(&crate::http::extract::revoked_token_key(jti), b"1", ttl)
            .await?;
    }
    session
        .flush()
        .await
        .map_err(|e| Error::internal(anyhow::anyhow!("session: {e}")))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipView {
    company: CompanyView,
    role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethodView {
    Token,
    #[serde(rename = "apiKey")]
    ApiKey,
    Session,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeResponse {
    /// `null` when calling with an API key.
    user: Option<UserView>,
    company: CompanyView,
    role: Role,
    auth_method: AuthMethodView,
    /// Every company the user belongs to (empty for an API key).
    memberships: Vec<MembershipView>,
}

/// Who am I
#[utoipa::path(get, path = "/me", tag = "auth",
    responses((status = 200, description = "The current principal", body = MeResponse)))]
async fn me(State(state): State<AppState>, principal: Principal) -> Result<Json<MeResponse>> {
    let company = accounts::company(&state.db, principal.company_id).await?;
    let (user, memberships) = match principal.user_id {
        Some(user_id) => {
            let user = accounts::user(&state.db, user_id).await?;
            let memberships = accounts::companies_of(&state.db, user_id)
                .await?
                .into_iter()
                .map(|(company, role)| MembershipView {
                    company: company.into(),
                    role,
                })
                .collect();
            (Some(user.into()), memberships)
        }
        None => (None, Vec::new()),
    };
    let auth_method = match principal.method {
        AuthMethod::Token { .. } => AuthMethodView::Token,
        AuthMethod::ApiKey { .. } => AuthMethodView::ApiKey,
        AuthMethod::Session => AuthMethodView::Session,
        // Only CLI tasks and background work act as the system; never a request.
        AuthMethod::System => {
            return Err(Error::internal(anyhow::anyhow!(
                "a system principal reached /me"
            )));
        }
    };
    Ok(Json(MeResponse {
        user,
        company: company.into(),
        role: principal.role,
        auth_method,
        memberships,
    }))
}
