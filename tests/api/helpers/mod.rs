use std::net::SocketAddr;

use reqwest::{Method, StatusCode, header};
use sea_orm::{ConnectionTrait, Database};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use switchboard::{config::Settings, http::AppState, server::Server};
use uuid::Uuid;

pub mod discord;
pub mod gateway;
pub mod github;
pub mod oauth;
pub mod process;
pub mod receiver;
pub mod schema;
pub mod sse;
pub mod views;

/// The sandbox bot's token, for calling the simulated Discord as the bot.
pub const BOT_TOKEN: &str = switchboard::sandbox::credentials::DISCORD_BOT_TOKEN;

/// Which storage a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    /// SQLite in a temporary file and in-process state: the embedded default.
    Embedded,
    /// PostgreSQL (a fresh database per test) and Redis (a fresh namespace per test).
    Services,
}

/// As `storage_test!`, with this replica running the Discord gateway.
macro_rules! gateway_test {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports, reason = "a test body may or may not use the enclosing module's imports")]
            use super::*;

            async fn run($app: $crate::helpers::TestApp) $body

            #[tokio::test]
            async fn sqlite_memory() {
                run($crate::helpers::spawn_app_with($crate::helpers::Backend::Embedded, |s| s.gateway = true).await).await
            }

            #[tokio::test]
            #[ignore = "needs PostgreSQL and Redis: run scripts/test"]
            async fn postgres_redis() {
                run($crate::helpers::spawn_app_with($crate::helpers::Backend::Services, |s| s.gateway = true).await).await
            }
        }
    };
}

/// Runs the body once per backend, as `<name>::sqlite_memory` and `<name>::postgres_redis`.
macro_rules! storage_test {
    ($name:ident, |$app:ident| $body:block) => {
        storage_test!(@with spawn_app, $name, |$app| $body);
    };
    (@with $spawn:ident, $name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports, reason = "a test body may or may not use the enclosing module's imports")]
            use super::*;

            async fn run($app: $crate::helpers::TestApp) $body

            #[tokio::test]
            async fn sqlite_memory() {
                run($crate::helpers::$spawn($crate::helpers::Backend::Embedded).await).await
            }

            #[tokio::test]
            #[ignore = "needs PostgreSQL and Redis: run scripts/test"]
            async fn postgres_redis() {
                run($crate::helpers::$spawn($crate::helpers::Backend::Services).await).await
            }
        }
    };
}

/// As [`storage_test!`], on the app's storage and services with no server running: no worker
/// takes a job the test enqueued (for tests of the outbox itself).
macro_rules! idle_storage_test {
    ($name:ident, |$app:ident| $body:block) => {
        storage_test!(@with spawn_idle, $name, |$app| $body);
    };
}

pub fn services_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the PostgreSQL/Redis tests through scripts/test")
    })
}

/// Owns the test's storage and removes it when the test ends, pass or fail.
enum Storage {
    Sqlite(
        #[expect(dead_code, reason = "held for its Drop, which removes the directory")]
        tempfile::TempDir,
    ),
    Postgres {
        admin_url: String,
        database: String,
    },
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Storage::Postgres {
            admin_url,
            database,
        } = self
        {
            let (admin_url, database) = (admin_url.clone(), database.clone());
            // Drop runs inside the test's runtime; a database round trip needs one of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let admin = Database::connect(&admin_url).await.ok()?;
                    admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
                        ))
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub backend: Backend,
    /// The settings the app was started with, to start a second replica on the same storage.
    pub settings: Settings,
    pub namespace: String,
    /// A client with a cookie jar, like a browser.
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _storage: std::sync::Arc<Storage>,
}

impl TestApp {
    /// Shuts the server down as SIGTERM would, and waits until it has stopped.
    pub async fn shut_down(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(server) => server.await?,
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// A test server with adjusted settings (the gateway switched on, say).
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let (settings, namespace, storage) = prepare(backend, adjust).await;
    start(backend, settings, namespace, storage, true).await
}

/// The app's storage and services, bound but not served: no requests are answered and no
/// worker, sweeper or gateway runs.
pub async fn spawn_idle(backend: Backend) -> TestApp {
    let (settings, namespace, storage) = prepare(backend, |_| {}).await;
    start(backend, settings, namespace, storage, false).await
}

/// Fresh storage for one test, and the settings that point at it.
async fn prepare(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> (Settings, String, std::sync::Arc<Storage>) {
    let namespace = format!("test:{}", Uuid::new_v4().simple());
    let (database_url, redis_url, storage) = match backend {
        Backend::Embedded => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("switchboard.db").display()
            );
            (url, None, Storage::Sqlite(dir))
        }
        Backend::Services => {
            let admin_url = services_env("TEST_DATABASE_URL");
            let database = format!("sb_test_{}", Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{database}\""))
                .await
                .expect("create test database");
            let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
            url.set_path(&database);
            (
                url.to_string(),
                Some(services_env("TEST_REDIS_URL")),
                Storage::Postgres {
                    admin_url,
                    database,
                },
            )
        }
    };
    let mut settings = Settings::for_tests(&database_url, redis_url.as_deref());
    adjust(&mut settings);
    (settings, namespace, std::sync::Arc::new(storage))
}

async fn start(
    backend: Backend,
    settings: Settings,
    namespace: String,
    storage: std::sync::Arc<Storage>,
    serve: bool,
) -> TestApp {
    let server = Server::bind(settings.clone(), &namespace)
        .await
        .expect("server starts");
    let addr = server.local_addr().expect("bound");
    let state = server.state().clone();
    let settings = (*state.settings).clone();
    let (shutdown, server) = if serve {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        (Some(tx), Some(server))
    } else {
        (None, None)
    };
    TestApp {
        addr,
        state,
        backend,
        settings,
        namespace,
        client: browser(),
        shutdown,
        server,
        _storage: storage,
    }
}

/// A port on 127.0.0.1 nobody listens on right now (for a server a test starts itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A client with a cookie jar that does not follow redirects (tests follow them by hand).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A signed-up user with their company.
#[derive(Clone, Debug)]
pub struct Account {
    pub email: String,
    pub password: String,
    pub token: String,
    pub user_id: String,
    pub company_id: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The body read as `T`, or the test fails showing the body.
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "the body is not a {}: {e}; body: {}",
                std::any::type_name::<T>(),
                self.text
            )
        })
    }

    /// The items of a page of a list, read as `T`.
    #[track_caller]
    pub fn items<T: DeserializeOwned>(&self) -> Vec<T> {
        self.json::<views::Page<T>>().items
    }

    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a problem+json error with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> &Self {
        self.assert_status(status);
        let content_type = self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        assert_eq!(
            content_type,
            Some("application/problem+json"),
            "body: {}",
            self.text
        );
        assert_eq!(self.body["code"], code, "body: {}", self.text);
        assert_eq!(self.body["status"], status, "body: {}", self.text);
        self
    }

    /// Asserts a 422 naming `field`.
    #[track_caller]
    pub fn assert_invalid_field(&self, field: &str) -> &Self {
        self.assert_status(422);
        let fields: Vec<&str> = self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("a 422 lists its errors: {}", self.text))
            .iter()
            .map(|e| e["field"].text())
            .collect();
        assert!(
            fields.contains(&field),
            "expected field {field} in {}",
            self.text
        );
        self
    }
}

/// How a request authenticates.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    ApiKeyHeader(&'a str),
    /// The client's cookie jar.
    Cookie,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> Reply {
        self.send(self.client.request(method, self.url(path)), auth, body)
            .await
    }

    pub async fn send(
        &self,
        builder: reqwest::RequestBuilder,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> Reply {
        let mut builder = match auth {
            Auth::Bearer(token) => builder.bearer_auth(token),
            Auth::ApiKeyHeader(key) => builder.header("x-api-key", key),
            Auth::None | Auth::Cookie => builder,
        };
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let response = builder.send().await.expect("request reaches the server");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Auth::Bearer(token), None)
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Auth::Bearer(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Auth::Bearer(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.request(Method::DELETE, path, Auth::Bearer(token), None)
            .await
    }

    /// Sends `head` (request line and headers, without the blank line) and `body` exactly as
    /// written, over a fresh connection (reqwest would normalise paths and refuse odd headers),
    /// and returns the status and the whole response.
    pub async fn raw(&self, head: &str, body: &[u8]) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connects");
        let request = format!(
            "{head}\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("writes");
        // The server may answer (and close) before reading a body it refuses.
        let _ = stream.write_all(body).await;
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
        (status, response)
    }

    pub async fn signup(&self, company: &str) -> Account {
        let email = format!("{}@example.com", Uuid::new_v4().simple());
        let password = "correct horse battery".to_owned();
        let reply = self
            .request(
                Method::POST,
                "/api/auth/signup",
                Auth::None,
                Some(json!({"email": email, "password": password, "companyName": company})),
            )
            .await;
        reply.assert_status(201);
        Account {
            email,
            password,
            token: reply.body["token"].as_str().expect("token").to_owned(),
            user_id: reply.body["user"]["id"]
                .as_str()
                .expect("user id")
                .to_owned(),
            company_id: reply.body["company"]["id"]
                .as_str()
                .expect("company id")
                .to_owned(),
        }
    }

    /// Adds `member` to `owner`'s company with `role` and returns a token acting for it.
    pub async fn join(&self, owner: &Account, member: &Account, role: &str) -> String {
        self.post(
            "/api/companies/current/members",
            &owner.token,
            json!({"email": member.email, "role": role}),
        )
        .await
        .assert_status(201);
        let reply = self
            .request(
                Method::POST,
                "/api/auth/login",
                Auth::None,
                Some(json!({"email": member.email, "password": member.password, "companyId": owner.company_id})),
            )
            .await;
        reply.assert_status(200);
        reply.body["token"].as_str().expect("token").to_owned()
    }

    /// Logs in like a browser: a fresh cookie jar holding the session, and the log-in reply.
    pub async fn login_browser(&self, account: &Account) -> (reqwest::Client, Reply) {
        let browser = browser();
        let reply = self
            .send(
                browser.post(self.url("/api/auth/login")),
                Auth::None,
                Some(json!({"email": account.email, "password": account.password})),
            )
            .await;
        reply.assert_status(200);
        (browser, reply)
    }

    pub async fn create_lead(&self, token: &str, name: &str) -> views::Lead {
        let reply = self.post("/api/leads", token, json!({"name": name})).await;
        reply.assert_status(201);
        reply.json()
    }

    /// A second replica on the same database and state store (same secrets).
    pub async fn second_replica(&self) -> TestApp {
        self.replica(true).await
    }

    /// Another process on the same storage that serves nothing and runs no worker: changes made
    /// through its services are committed, and nobody acts on them until a server starts.
    pub async fn idle_replica(&self) -> TestApp {
        self.replica(false).await
    }

    async fn replica(&self, serve: bool) -> TestApp {
        let mut settings = self.settings.clone();
        settings.bind_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        // Replicas share one public URL (a load balancer's), and so one set of platforms: in
        // sandbox mode, the first replica's simulators.
        settings.public_url = self.settings.public_url.clone();
        settings.public_url_explicit = true;
        start(
            self.backend,
            settings,
            self.namespace.clone(),
            self._storage.clone(),
            serve,
        )
        .await
    }
}

/// A Redis server of the test's own, which the test may stop to see the service cope with an
/// outage. Needs `redis-server` on the PATH (scripts/test installs it); stopped on drop.
pub struct PrivateRedis {
    child: std::process::Child,
    pub url: String,
}

impl PrivateRedis {
    pub async fn start() -> Self {
        let port = free_port();
        let child = Self::spawn(port).await;
        Self {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        }
    }

    #[expect(
        clippy::zombie_processes,
        reason = "the child is owned by the PrivateRedis, which kills and reaps it on drop"
    )]
    async fn spawn(port: u16) -> std::process::Child {
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server starts (run the Redis tests through scripts/test)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return child;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("redis-server did not listen on {port}");
    }

    /// Redis is back, empty, on the same port (a restart without persistence).
    pub async fn restart(&mut self) {
        self.stop();
        let port = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the URL ends with the port");
        self.child = Self::spawn(port).await;
    }

    /// A server (SQLite for data) whose state store is this Redis.
    pub async fn app(&self) -> TestApp {
        self.app_with(|_| {}).await
    }

    /// The same, with settings adjusted.
    pub async fn app_with(&self, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let url = self.url.clone();
        spawn_app_with(Backend::Embedded, move |s| {
            s.redis_url = Some(switchboard::config::Secret::new(url));
            adjust(s);
        })
        .await
    }

    /// The outage: the server is gone, its port refuses connections.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A PostgreSQL server of the test's own (a fresh cluster in a temporary directory), which the
/// test may stop and start again to see the service cope with a database outage. Uses the
/// binaries scripts/test found (`PG_BIN`, else /usr/local/bin); when the tests run as root, the
/// cluster belongs to the `postgres` user, as PostgreSQL refuses to run as root. Stopped on drop.
pub struct PrivatePostgres {
    bin: std::path::PathBuf,
    data: std::path::PathBuf,
    port: u16,
    /// Running as root: the cluster belongs to the `postgres` user.
    as_root: bool,
    _dir: tempfile::TempDir,
    pub url: String,
}

impl PrivatePostgres {
    pub async fn start() -> Self {
        let bin = std::path::PathBuf::from(
            std::env::var("PG_BIN").unwrap_or_else(|_| "/usr/local/bin".to_owned()),
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("data dir");
        let as_root = is_root();
        if as_root {
            let owned = std::process::Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(
                owned.success(),
                "the postgres user exists (scripts/test makes it)"
            );
        }
        let port = free_port();
        let server = Self {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            bin,
            data,
            port,
            as_root,
            _dir: dir,
        };
        let initdb = server
            .as_owner("initdb")
            .arg("-D")
            .arg(&server.data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("initdb runs (run the PostgreSQL tests through scripts/test)");
        assert!(initdb.success(), "initdb failed");
        server.resume().await;
        server
    }

    /// A command run as the cluster's owner, from a directory that owner can read.
    fn as_owner(&self, program: &str) -> std::process::Command {
        let program = self.bin.join(program);
        let mut command = if self.as_root {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            std::process::Command::new(program)
        };
        command.current_dir("/");
        command
    }

    /// A server (in-process state) whose database is this PostgreSQL.
    pub async fn app(&self) -> TestApp {
        let url = self.url.clone();
        spawn_app_with(Backend::Embedded, move |s| {
            s.database_url = switchboard::config::Secret::new(url);
        })
        .await
    }

    /// The outage: PostgreSQL stops at once, as on a crash (`-m immediate`), dropping every
    /// connection; its port refuses new ones.
    pub fn stop(&self) {
        let _ = self
            .as_owner("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }

    /// Starts the server (again) on the same port and data, waiting until it accepts connections.
    pub async fn resume(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=50",
            self.port,
            self.data.display()
        );
        let log = self.data.join("server.log");
        let started = self
            .as_owner("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&log)
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("pg_ctl runs");
        assert!(
            started.success(),
            "PostgreSQL did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Reading a response's JSON in assertions.
pub trait JsonText {
    /// The string at this place, or the test fails showing what is there instead.
    fn text(&self) -> &str;
}

impl JsonText for Value {
    #[track_caller]
    fn text(&self) -> &str {
        self.as_str()
            .unwrap_or_else(|| panic!("expected a JSON string, found {self}"))
    }
}
