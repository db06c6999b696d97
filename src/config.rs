//! Typed settings from the environment (and an optional `.env`), validated once at start-up.
//!
//! Every problem is collected and reported together, so a misconfigured deployment is fixed in
//! one pass rather than one restart per variable.
use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use rand::RngCore;
use url::Url;

/// Discord's global limit for every bot: 50 requests per second.
pub const DISCORD_GLOBAL_LIMIT: u16 = 50;

/// Every Discord call's outer deadline by default (`DISCORD_TIMEOUT_SECS`), covering
/// rate-limit waits and the request itself.
pub const DISCORD_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The sandbox application's credentials, used when none are configured.
pub mod sandbox_credentials {
    pub const DISCORD_CLIENT_ID: &str = "1300000000000000001";
    pub const DISCORD_CLIENT_SECRET: &str = "sandbox-discord-client-secret";
    pub const DISCORD_BOT_TOKEN: &str = "sandbox-discord-bot-token";
    pub const GITHUB_CLIENT_ID: &str = "Ov23liSandboxSwitchboard";
    pub const GITHUB_CLIENT_SECRET: &str = "sandbox-github-client-secret";
}

/// A value that must never reach a log line or an error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Where a secret came from: production secrets must be given explicitly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretSource {
    Environment,
    /// Generated on first start in sandbox mode and kept in a local file.
    DevFile,
}

#[derive(Clone, Debug)]
pub struct ProviderCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret<String>>,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub bind_addr: SocketAddr,
    /// Base URL the service is reached at; OAuth redirect URIs derive from it.
    pub public_url: Url,
    /// `PUBLIC_URL` was given; otherwise it follows the bound port.
    pub public_url_explicit: bool,
    /// `FRONTEND_ORIGIN` when given; read [`Settings::frontend_origin`], which defaults to the
    /// service's own origin.
    pub frontend_origin: Option<String>,
    /// `FRONTEND_DIR`: serve the web app from this directory (canonical, holding an
    /// `index.html`), read at request time, instead of the build embedded in the binary.
    pub frontend_dir: Option<PathBuf>,
    pub database_url: Secret<String>,
    pub redis_url: Option<Secret<String>>,
    pub jwt_secret: Secret<Vec<u8>>,
    pub token_encryption_key: Secret<[u8; 32]>,
    /// Older keys, still readable, for rotation (`TOKEN_ENCRYPTION_KEYS_PREVIOUS`).
    pub previous_encryption_keys: Vec<Secret<[u8; 32]>>,
    pub secrets_source: SecretSource,
    pub discord: ProviderCredentials,
    pub discord_bot_token: Option<Secret<String>>,
    pub discord_api_base: Url,
    /// The outer deadline of one Discord REST call (`DISCORD_TIMEOUT_SECS`).
    pub discord_timeout: std::time::Duration,
    /// The bot's global limit, calls per second (`DISCORD_GLOBAL_LIMIT`, default 50, Discord's
    /// for every bot; large bots can ask Discord for more).
    pub discord_global_limit: u16,
    /// How often every active lead channel is read for messages the gateway missed
    /// (`CATCHUP_INTERVAL`, seconds; default 600).
    pub catchup_interval: std::time::Duration,
    /// What every Redis key and channel of this deployment starts with (`REDIS_KEY_PREFIX`,
    /// default `switchboard`): deployments sharing one Redis (staging beside production) keep
    /// apart by giving each its own.
    pub redis_key_prefix: String,
    /// Whether this replica competes for gateway shards (`DISCORD_GATEWAY`, default `on`);
    /// `off` makes an API-only replica.
    pub gateway: bool,
    /// Connections one process holds open at most (`MAX_CONNECTIONS`, default 4096); more wait
    /// in the listen queue until one closes.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers before its connection is closed.
    pub header_read_timeout: std::time::Duration,
    /// How long one request may take, its body included, before it is answered 408: a client
    /// trickling its body cannot hold a connection longer.
    pub request_timeout: std::time::Duration,
    /// At shutdown, how long in-flight requests may still finish before their connections are
    /// closed.
    pub shutdown_drain: std::time::Duration,
    /// Whether the client address comes from `X-Forwarded-For` (`TRUST_FORWARDED_FOR`, default
    /// off): only behind a reverse proxy that sets it. Otherwise it is the connection's peer.
    pub trust_forwarded_for: bool,
    pub github: ProviderCredentials,
    pub github_oauth_base: Url,
    pub github_api_base: Url,
    /// How often a company's GitHub links are polled while its webhook is quiet
    /// (`GITHUB_POLL_INTERVAL`, seconds; default 900, at least 60).
    pub github_poll_interval: std::time::Duration,
    /// Webhook endpoints may use `http` and loopback or private addresses
    /// (`WEBHOOK_ALLOW_INSECURE`; default on in sandbox mode, off otherwise).
    pub webhook_allow_insecure: bool,
    /// The waits between attempts to deliver a webhook (after the first, second, … failed
    /// attempt); a delivery is dead after the last. About a day in total.
    pub webhook_retry_schedule: Vec<std::time::Duration>,
    /// Built-in Discord/GitHub simulators instead of the real platforms.
    pub sandbox: bool,
    pub log_format: LogFormat,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

pub const DEFAULT_DATABASE_URL: &str = "sqlite://switchboard.db?mode=rwc";
pub const DEV_SECRETS_FILE: &str = ".switchboard-dev-secrets";
/// `REDIS_KEY_PREFIX`'s default.
pub const DEFAULT_REDIS_KEY_PREFIX: &str = "switchboard";
const MIN_JWT_SECRET_BYTES: usize = 32;
/// Waits between webhook delivery attempts: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h (about 17.6 h
/// in all; seven attempts), as Svix and Standard Webhooks senders retry.
pub const WEBHOOK_RETRY_SCHEDULE: [std::time::Duration; 6] = [
    std::time::Duration::from_secs(5),
    std::time::Duration::from_secs(5 * 60),
    std::time::Duration::from_secs(30 * 60),
    std::time::Duration::from_secs(2 * 3600),
    std::time::Duration::from_secs(5 * 3600),
    std::time::Duration::from_secs(10 * 3600),
];
/// `GITHUB_POLL_INTERVAL`'s default: fifteen minutes.
const DEFAULT_GITHUB_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(900);
/// `CATCHUP_INTERVAL`'s default: ten minutes.
const DEFAULT_CATCHUP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

impl Settings {
    /// Reads the process environment, after loading `.env` when one exists.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is not silently ignored.
        if let Err(err) = dotenvy::dotenv()
            && !err.not_found()
        {
            return Err(ConfigError(vec![format!(".env: {err}")]));
        }
        let dev_file = std::env::var("SWITCHBOARD_DEV_SECRETS_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(DEV_SECRETS_FILE));
        Self::from_lookup(|name| std::env::var(name).ok(), &dev_file)
    }

    /// Builds settings from any variable source; an empty value counts as unset.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        dev_secrets_file: &Path,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut errors = Vec::new();

        let bind_addr = match get("BIND_ADDR") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(raw) => raw.parse().unwrap_or_else(|_| {
                errors.push(format!(
                    "BIND_ADDR: `{raw}` is not an address like 127.0.0.1:8080"
                ));
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }),
        };
        let public_url_explicit = get("PUBLIC_URL").is_some();
        let public_url = parse_url(
            &mut errors,
            "PUBLIC_URL",
            get("PUBLIC_URL"),
            &default_public_url(bind_addr),
        );
        let frontend_origin = get("FRONTEND_ORIGIN").and_then(|raw| match Url::parse(&raw) {
            Ok(url) if url.origin().is_tuple() => Some(url.origin().ascii_serialization()),
            _ => {
                errors.push(format!(
                    "FRONTEND_ORIGIN: `{raw}` is not an origin like https://app.example.com"
                ));
                None
            }
        });
        let frontend_dir = get("FRONTEND_DIR").and_then(|raw| match std::fs::canonicalize(&raw) {
            Ok(dir) if dir.join("index.html").is_file() => Some(dir),
            Ok(dir) if dir.is_dir() => {
                errors.push(format!(
                    "FRONTEND_DIR: `{raw}` has no index.html (build the app into it: \
                     `npm run build:app -- --outDir {raw}` in frontend/)"
                ));
                None
            }
            _ => {
                errors.push(format!("FRONTEND_DIR: `{raw}` is not a directory"));
                None
            }
        });
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            errors
                .push("DATABASE_URL: must start with sqlite:, postgres:// or postgresql://".into());
        }
        let redis_url = get("REDIS_URL");
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            errors.push("REDIS_URL: must start with redis:// or rediss://".into());
        }

        let discord_bot_token = get("DISCORD_BOT_TOKEN");
        let sandbox = match get("SANDBOX").as_deref() {
            None => discord_bot_token.is_none(),
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => {
                if discord_bot_token.is_none() {
                    errors.push("DISCORD_BOT_TOKEN: required when SANDBOX is off".into());
                }
                false
            }
            Some(other) => {
                errors.push(format!("SANDBOX: `{other}` is not one of 1/0/true/false"));
                false
            }
        };
        let discord = ProviderCredentials {
            client_id: get("DISCORD_CLIENT_ID"),
            client_secret: get("DISCORD_CLIENT_SECRET").map(Secret),
        };
        let github = ProviderCredentials {
            client_id: get("GITHUB_CLIENT_ID"),
            client_secret: get("GITHUB_CLIENT_SECRET").map(Secret),
        };
        let discord_api_base = parse_url(
            &mut errors,
            "DISCORD_API_BASE",
            get("DISCORD_API_BASE"),
            "https://discord.com",
        );
        let github_oauth_base = parse_url(
            &mut errors,
            "GITHUB_OAUTH_BASE",
            get("GITHUB_OAUTH_BASE"),
            "https://github.com",
        );
        let github_api_base = parse_url(
            &mut errors,
            "GITHUB_API_BASE",
            get("GITHUB_API_BASE"),
            "https://api.github.com",
        );

        // Any real credential means real users' tokens may be stored: no generated secrets then,
        // even if the sandbox is forced on.
        let real_credentials = discord_bot_token.is_some()
            || discord.client_secret.is_some()
            || github.client_secret.is_some();
        let (jwt_secret, token_encryption_key, secrets_source) = load_secrets(
            &mut errors,
            get("JWT_SECRET"),
            get("TOKEN_ENCRYPTION_KEY"),
            !real_credentials,
            dev_secrets_file,
        );

        let mut previous_encryption_keys = Vec::new();
        for (i, raw) in get("TOKEN_ENCRYPTION_KEYS_PREVIOUS")
            .unwrap_or_default()
            .split(',')
            .enumerate()
        {
            if raw.trim().is_empty() {
                continue;
            }
            match decode_key(raw) {
                Some(key) => previous_encryption_keys.push(Secret(key)),
                None => errors.push(format!(
                    "TOKEN_ENCRYPTION_KEYS_PREVIOUS: key {} is not 32 bytes, base64-encoded",
                    i + 1
                )),
            }
        }

        let discord_timeout = match get("DISCORD_TIMEOUT_SECS") {
            None => DISCORD_CALL_TIMEOUT,
            Some(raw) => match raw.parse::<u64>() {
                Ok(secs @ 1..=300) => std::time::Duration::from_secs(secs),
                _ => {
                    errors.push(format!(
                        "DISCORD_TIMEOUT_SECS: `{raw}` is not a number of seconds from 1 to 300"
                    ));
                    DISCORD_CALL_TIMEOUT
                }
            },
        };

        let discord_global_limit = match get("DISCORD_GLOBAL_LIMIT") {
            None => DISCORD_GLOBAL_LIMIT,
            Some(raw) => match raw.parse::<u16>() {
                Ok(limit @ 1..) => limit,
                _ => {
                    errors.push(format!(
                        "DISCORD_GLOBAL_LIMIT: `{raw}` is not a number of calls per second from 1 to 65535"
                    ));
                    DISCORD_GLOBAL_LIMIT
                }
            },
        };

        let catchup_interval = match get("CATCHUP_INTERVAL") {
            None => DEFAULT_CATCHUP_INTERVAL,
            Some(raw) => match raw.parse::<u64>() {
                Ok(secs @ 10..=86_400) => std::time::Duration::from_secs(secs),
                _ => {
                    errors.push(format!(
                        "CATCHUP_INTERVAL: `{raw}` is not a number of seconds from 10 to 86400"
                    ));
                    DEFAULT_CATCHUP_INTERVAL
                }
            },
        };

        let github_poll_interval = match get("GITHUB_POLL_INTERVAL") {
            None => DEFAULT_GITHUB_POLL_INTERVAL,
            Some(raw) => match raw.parse::<u64>() {
                Ok(secs @ 60..=86_400) => std::time::Duration::from_secs(secs),
                _ => {
                    errors.push(format!(
                        "GITHUB_POLL_INTERVAL: `{raw}` is not a number of seconds from 60 to 86400"
                    ));
                    DEFAULT_GITHUB_POLL_INTERVAL
                }
            },
        };

        let gateway = flag(&mut errors, "DISCORD_GATEWAY", get("DISCORD_GATEWAY"), true);
        let redis_key_prefix = match get("REDIS_KEY_PREFIX") {
            None => DEFAULT_REDIS_KEY_PREFIX.to_owned(),
            Some(raw)
                if raw.len() <= 64
                    && raw
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-')) =>
            {
                raw
            }
            Some(raw) => {
                errors.push(format!(
                    "REDIS_KEY_PREFIX: `{raw}` is not up to 64 letters, digits, `:`, `_` or `-`"
                ));
                DEFAULT_REDIS_KEY_PREFIX.to_owned()
            }
        };

        let max_connections = match get("MAX_CONNECTIONS") {
            None => DEFAULT_MAX_CONNECTIONS,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (16..=1_000_000).contains(&n) => n,
                _ => {
                    errors.push(format!(
                        "MAX_CONNECTIONS: `{raw}` is not a whole number from 16 to 1000000"
                    ));
                    DEFAULT_MAX_CONNECTIONS
                }
            },
        };

        let webhook_allow_insecure = flag(
            &mut errors,
            "WEBHOOK_ALLOW_INSECURE",
            get("WEBHOOK_ALLOW_INSECURE"),
            sandbox,
        );
        let trust_forwarded_for = flag(
            &mut errors,
            "TRUST_FORWARDED_FOR",
            get("TRUST_FORWARDED_FOR"),
            false,
        );

        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                errors.push(format!("LOG_FORMAT: `{other}` is not `pretty` or `json`"));
                LogFormat::Pretty
            }
        };

        if !errors.is_empty() {
            return Err(ConfigError(errors));
        }
        Ok(Self {
            bind_addr,
            public_url,
            public_url_explicit,
            frontend_origin,
            frontend_dir,
            database_url: Secret(database_url),
            redis_url: redis_url.map(Secret),
            jwt_secret: Secret(jwt_secret),
            token_encryption_key: Secret(token_encryption_key),
            previous_encryption_keys,
            secrets_source,
            discord,
            discord_bot_token: discord_bot_token.map(Secret),
            discord_api_base,
            discord_timeout,
            discord_global_limit,
            catchup_interval,
            gateway,
            redis_key_prefix,
            trust_forwarded_for,
            max_connections,
            header_read_timeout: HEADER_READ_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            shutdown_drain: SHUTDOWN_DRAIN,
            github,
            github_oauth_base,
            github_api_base,
            github_poll_interval,
            webhook_allow_insecure,
            webhook_retry_schedule: WEBHOOK_RETRY_SCHEDULE.to_vec(),
            sandbox,
            log_format,
        })
    }

    /// Settings for tests and tools: sandbox mode, the given database, fresh random secrets.
    pub fn for_tests(database_url: &str, redis_url: Option<&str>) -> Self {
        let mut jwt = vec![0u8; 48];
        rand::rng().fill_bytes(&mut jwt);
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let bind_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            bind_addr,
            public_url: Url::parse("http://127.0.0.1").expect("static URL parses"),
            public_url_explicit: false,
            frontend_origin: None,
            frontend_dir: None,
            database_url: Secret(database_url.to_owned()),
            redis_url: redis_url.map(|u| Secret(u.to_owned())),
            jwt_secret: Secret(jwt),
            token_encryption_key: Secret(key),
            previous_encryption_keys: Vec::new(),
            secrets_source: SecretSource::DevFile,
            discord: ProviderCredentials {
                client_id: None,
                client_secret: None,
            },
            discord_bot_token: None,
            discord_api_base: Url::parse("https://discord.com").expect("static URL parses"),
            // Longer than Discord's 5-second message window (a paced call may wait that long),
            // shorter than the production deadline, so slow-Discord tests stay quick.
            discord_timeout: std::time::Duration::from_secs(7),
            discord_global_limit: DISCORD_GLOBAL_LIMIT,
            catchup_interval: DEFAULT_CATCHUP_INTERVAL,
            gateway: false,
            redis_key_prefix: DEFAULT_REDIS_KEY_PREFIX.to_owned(),
            trust_forwarded_for: false,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: HEADER_READ_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            shutdown_drain: SHUTDOWN_DRAIN,
            github: ProviderCredentials {
                client_id: None,
                client_secret: None,
            },
            github_oauth_base: Url::parse("https://github.com").expect("static URL parses"),
            github_api_base: Url::parse("https://api.github.com").expect("static URL parses"),
            github_poll_interval: DEFAULT_GITHUB_POLL_INTERVAL,
            // Tests deliver to receivers on loopback, quickly.
            webhook_allow_insecure: true,
            webhook_retry_schedule: [50, 100, 200, 400, 800, 1600]
                .map(std::time::Duration::from_millis)
                .to_vec(),
            sandbox: true,
            log_format: LogFormat::Pretty,
        }
    }

    /// In sandbox mode, points every provider base at the built-in simulators under
    /// `{PUBLIC_URL}/sandbox/…` and fills in the sandbox application's credentials. Called once
    /// the public URL is final (after binding, when the port was chosen by the OS).
    pub fn apply_sandbox(&mut self) {
        if !self.sandbox {
            return;
        }
        let base = self.public_url.as_str().trim_end_matches('/').to_owned();
        let at = |path: &str| {
            Url::parse(&format!("{base}{path}")).unwrap_or_else(|_| self.public_url.clone())
        };
        self.discord_api_base = at("/sandbox/discord");
        self.github_oauth_base = at("/sandbox/github");
        self.github_api_base = at("/sandbox/github/api");
        use self::sandbox_credentials as sandbox;
        self.discord
            .client_id
            .get_or_insert_with(|| sandbox::DISCORD_CLIENT_ID.to_owned());
        self.discord
            .client_secret
            .get_or_insert_with(|| Secret(sandbox::DISCORD_CLIENT_SECRET.to_owned()));
        self.discord_bot_token
            .get_or_insert_with(|| Secret(sandbox::DISCORD_BOT_TOKEN.to_owned()));
        self.github
            .client_id
            .get_or_insert_with(|| sandbox::GITHUB_CLIENT_ID.to_owned());
        self.github
            .client_secret
            .get_or_insert_with(|| Secret(sandbox::GITHUB_CLIENT_SECRET.to_owned()));
    }

    /// The one browser origin allowed by CORS, for cookie-authenticated writes and as the OAuth
    /// popup's `postMessage` target: `FRONTEND_ORIGIN`, or else the service's own origin, where
    /// it serves the web app.
    pub fn frontend_origin(&self) -> String {
        self.frontend_origin
            .clone()
            .unwrap_or_else(|| self.public_url.origin().ascii_serialization())
    }

    /// The OAuth redirect URI for a provider: `{PUBLIC_URL}/api/integrations/{provider}/callback`.
    pub fn redirect_uri(&self, provider: &str) -> String {
        format!(
            "{}/api/integrations/{provider}/callback",
            self.public_url.as_str().trim_end_matches('/')
        )
    }

    pub fn is_postgres(&self) -> bool {
        !self.database_url.expose().starts_with("sqlite:")
    }

    /// The JWT issuer: this deployment's public URL.
    pub fn jwt_issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }

    /// Cookies are marked `Secure` when the service is reached over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

/// An on/off setting: `on`/`1`/`true` or `off`/`0`/`false`; unset is the default.
fn flag(errors: &mut Vec<String>, name: &str, raw: Option<String>, default: bool) -> bool {
    match raw.as_deref() {
        None => default,
        Some("on" | "1" | "true") => true,
        Some("off" | "0" | "false") => false,
        Some(other) => {
            errors.push(format!("{name}: `{other}` is not `on` (1) or `off` (0)"));
            default
        }
    }
}

const DEFAULT_MAX_CONNECTIONS: usize = 4096;
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
const SHUTDOWN_DRAIN: std::time::Duration = std::time::Duration::from_secs(20);

fn default_public_url(bind: SocketAddr) -> String {
    let host = if bind.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        bind.ip().to_string()
    };
    format!("http://{host}:{}", bind.port())
}

fn parse_url(errors: &mut Vec<String>, name: &str, raw: Option<String>, default: &str) -> Url {
    let raw = raw.unwrap_or_else(|| default.to_owned());
    match Url::parse(&raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => url,
        _ => {
            errors.push(format!("{name}: `{raw}` is not an http(s) URL"));
            Url::parse(default).unwrap_or_else(|_| Url::parse("http://localhost").expect("static"))
        }
    }
}

fn load_secrets(
    errors: &mut Vec<String>,
    jwt: Option<String>,
    key: Option<String>,
    dev_allowed: bool,
    dev_file: &Path,
) -> (Vec<u8>, [u8; 32], SecretSource) {
    let explicit = jwt.is_some() && key.is_some();
    if !explicit && !dev_allowed {
        // Real credentials are configured: a generated development secret would silently
        // weaken every session and every stored token, so refuse to start instead.
        for (name, value) in [("JWT_SECRET", &jwt), ("TOKEN_ENCRYPTION_KEY", &key)] {
            if value.is_none() {
                errors.push(format!(
                    "{name}: required when real Discord/GitHub credentials are configured"
                ));
            }
        }
    }
    let (jwt, key, source) = if explicit || !dev_allowed {
        (jwt, key, SecretSource::Environment)
    } else {
        match dev_secrets(dev_file) {
            Ok((dev_jwt, dev_key)) => (
                jwt.or(Some(dev_jwt)),
                key.or(Some(dev_key)),
                SecretSource::DevFile,
            ),
            Err(err) => {
                errors.push(format!("{}: {err}", dev_file.display()));
                (jwt, key, SecretSource::DevFile)
            }
        }
    };
    let jwt = jwt.unwrap_or_default().into_bytes();
    if !jwt.is_empty() && jwt.len() < MIN_JWT_SECRET_BYTES {
        errors.push(format!(
            "JWT_SECRET: must be at least {MIN_JWT_SECRET_BYTES} bytes"
        ));
    }
    let key = match key {
        None => [0u8; 32],
        Some(raw) => match B64
            .decode(raw.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
        {
            Some(bytes) => bytes,
            None => {
                errors.push("TOKEN_ENCRYPTION_KEY: must be 32 bytes, base64-encoded".into());
                [0u8; 32]
            }
        },
    };
    (jwt, key, source)
}

fn decode_key(raw: &str) -> Option<[u8; 32]> {
    B64.decode(raw.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
}

/// Reads the sandbox's development secrets, creating the file (mode 0600) on first use.
fn dev_secrets(path: &Path) -> std::io::Result<(String, String)> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                .map(str::to_owned)
        };
        if let (Some(jwt), Some(key)) = (value("JWT_SECRET"), value("TOKEN_ENCRYPTION_KEY")) {
            return Ok((jwt, key));
        }
    }
    let mut jwt = [0u8; 48];
    rand::rng().fill_bytes(&mut jwt);
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let (jwt, key) = (hex::encode(jwt), B64.encode(key));
    let body = format!(
        "# Generated by switchboard for sandbox mode only. Never use these with real credentials.\n\
         JWT_SECRET={jwt}\nTOKEN_ENCRYPTION_KEY={key}\n"
    );
    write_private(path, body.as_bytes())?;
    Ok((jwt, key))
}

fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(body)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> (Result<Settings, ConfigError>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let result =
            Settings::from_lookup(|k| vars.get(k).cloned(), &dir.path().join("dev-secrets"));
        (result, dir)
    }

    #[test]
    fn nothing_set_means_sandbox_sqlite_and_generated_dev_secrets() {
        let (result, dir) = settings(&[]);
        let s = result.expect("defaults are valid");
        assert!(s.sandbox);
        assert!(!s.is_postgres());
        assert!(s.redis_url.is_none());
        assert_eq!(s.secrets_source, SecretSource::DevFile);
        assert!(dir.path().join("dev-secrets").exists());
    }

    #[test]
    fn the_redis_key_prefix_defaults_and_is_checked() {
        let (result, _dir) = settings(&[]);
        assert_eq!(result.expect("valid").redis_key_prefix, "switchboard");
        let (result, _dir) = settings(&[("REDIS_KEY_PREFIX", "staging:eu-1")]);
        assert_eq!(result.expect("valid").redis_key_prefix, "staging:eu-1");
        for bad in ["has space", "a*", &"x".repeat(65)] {
            let (result, _dir) = settings(&[("REDIS_KEY_PREFIX", bad)]);
            let err = result.expect_err("refused").to_string();
            assert!(err.contains("REDIS_KEY_PREFIX"), "{bad}: {err}");
        }
    }

    #[test]
    fn dev_secrets_are_stable_across_restarts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("dev");
        let a = Settings::from_lookup(|_| None, &file).expect("valid");
        let b = Settings::from_lookup(|_| None, &file).expect("valid");
        assert_eq!(a.jwt_secret.expose(), b.jwt_secret.expose());
        assert_eq!(
            a.token_encryption_key.expose(),
            b.token_encryption_key.expose()
        );
    }

    #[test]
    fn real_credentials_without_secrets_are_refused() {
        let (result, dir) = settings(&[("DISCORD_BOT_TOKEN", "abc")]);
        let err = result.expect_err("must refuse").to_string();
        assert!(err.contains("JWT_SECRET"), "{err}");
        assert!(err.contains("TOKEN_ENCRYPTION_KEY"), "{err}");
        assert!(
            !dir.path().join("dev-secrets").exists(),
            "no dev secret is generated"
        );
    }

    #[test]
    fn a_real_github_secret_needs_real_secrets_even_in_sandbox_mode() {
        let (result, dir) = settings(&[("SANDBOX", "1"), ("GITHUB_CLIENT_SECRET", "real")]);
        let err = result.expect_err("must refuse").to_string();
        assert!(err.contains("JWT_SECRET"), "{err}");
        assert!(!dir.path().join("dev-secrets").exists());
    }

    #[test]
    fn sandbox_off_without_a_bot_token_is_refused() {
        let (result, _dir) = settings(&[("SANDBOX", "0")]);
        assert!(
            result
                .expect_err("must refuse")
                .to_string()
                .contains("DISCORD_BOT_TOKEN")
        );
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let (result, _dir) = settings(&[
            ("BIND_ADDR", "nope"),
            ("DATABASE_URL", "mysql://x"),
            ("TOKEN_ENCRYPTION_KEY", "short"),
            ("JWT_SECRET", "also-short"),
        ]);
        let err = result.expect_err("invalid").0;
        assert_eq!(err.len(), 4, "{err:?}");
    }

    #[test]
    fn explicit_secrets_are_used_as_given() {
        let key = B64.encode([7u8; 32]);
        let (result, _dir) = settings(&[
            ("DISCORD_BOT_TOKEN", "abc"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("TOKEN_ENCRYPTION_KEY", &key),
        ]);
        let s = result.expect("valid");
        assert!(!s.sandbox);
        assert_eq!(s.secrets_source, SecretSource::Environment);
        assert_eq!(s.token_encryption_key.expose(), &[7u8; 32]);
    }

    #[test]
    fn the_frontend_origin_is_the_services_own_unless_given() {
        let (result, _dir) = settings(&[("PUBLIC_URL", "https://switchboard.example.com/base/")]);
        let s = result.expect("valid");
        assert_eq!(s.frontend_origin(), "https://switchboard.example.com");

        let (result, _dir) = settings(&[("BIND_ADDR", "127.0.0.1:9090")]);
        assert_eq!(
            result.expect("valid").frontend_origin(),
            "http://127.0.0.1:9090"
        );

        let (result, _dir) = settings(&[("FRONTEND_ORIGIN", "http://127.0.0.1:5173/")]);
        assert_eq!(
            result.expect("valid").frontend_origin(),
            "http://127.0.0.1:5173"
        );
    }

    #[test]
    fn the_frontend_origin_follows_the_port_the_service_was_given() {
        let (result, _dir) = settings(&[]);
        let mut s = result.expect("valid");
        // What `Server::bind` does when the OS picked the port.
        s.public_url
            .set_port(Some(41234))
            .expect("an http URL has a port");
        assert_eq!(s.frontend_origin(), "http://127.0.0.1:41234");
    }

    #[test]
    fn frontend_dir_must_be_a_directory_holding_an_index_page() {
        let app = tempfile::tempdir().expect("temp dir");
        let path = app.path().to_str().expect("UTF-8").to_owned();
        let (result, _dir) = settings(&[("FRONTEND_DIR", &path)]);
        let err = result.expect_err("no index.html").to_string();
        assert!(err.contains("has no index.html"), "{err}");

        std::fs::write(app.path().join("index.html"), "<!doctype html>").expect("write");
        let (result, _dir) = settings(&[("FRONTEND_DIR", &path)]);
        let s = result.expect("valid");
        assert_eq!(
            s.frontend_dir,
            Some(app.path().canonicalize().expect("canonical"))
        );

        let (result, _dir) = settings(&[("FRONTEND_DIR", "/no/such/dir")]);
        let err = result.expect_err("missing").to_string();
        assert!(err.contains("is not a directory"), "{err}");
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let (result, _dir) = settings(&[("JWT_SECRET", "super-secret-value-that-is-long-enough")]);
        let s = result.expect("valid");
        assert!(!format!("{s:?}").contains("super-secret"));
    }

    #[test]
    fn the_bots_global_limit_is_discords_50_unless_set() {
        let (result, _dir) = settings(&[]);
        assert_eq!(result.expect("valid").discord_global_limit, 50);
        let (result, _dir) = settings(&[("DISCORD_GLOBAL_LIMIT", "1200")]);
        assert_eq!(result.expect("valid").discord_global_limit, 1200);
        for bad in ["0", "-5", "fast", "70000"] {
            let (result, _dir) = settings(&[("DISCORD_GLOBAL_LIMIT", bad)]);
            let err = result.expect_err("invalid").to_string();
            assert!(err.contains("DISCORD_GLOBAL_LIMIT"), "{err}");
        }
    }
}
