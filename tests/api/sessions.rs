use reqwest::Method;

use crate::helpers::Auth;

storage_test!(a_session_survives_on_another_replica, |app| {
    // Sessions live in SQL or Redis, never only in one process's memory.
    let account = app.signup("Replica Co").await;
    let (browser, _login) = app.login_browser(&account).await;
    let replica = app.second_replica().await;
    let me = replica
        .send(browser.get(replica.url("/api/me")), Auth::Cookie, None)
        .await;
    me.assert_status(200);
    assert_eq!(me.body["user"]["email"], account.email.as_str());
});

storage_test!(a_forged_session_cookie_is_refused, |app| {
    let reply = app
        .send(
            app.client
                .request(Method::GET, app.url("/api/me"))
                .header("cookie", "sb_session=AAAAAAAAAAAAAAAAAAAAAA"),
            Auth::None,
            None,
        )
        .await;
    reply.assert_problem(401, "unauthenticated");
});
