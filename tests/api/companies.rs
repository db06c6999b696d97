use serde_json::json;

storage_test!(an_admin_can_rename_the_company_and_set_its_crm_id, |app| {
    let account = app.signup("Old Name").await;
    let reply = app
        .patch(
            "/api/companies/current",
            &account.token,
            json!({"name": "New Name", "externalId": "crm-42"}),
        )
        .await;
    reply.assert_status(200);
    assert_eq!(reply.body["name"], "New Name");
    assert_eq!(reply.body["externalId"], "crm-42");
    let current = app.get("/api/companies/current", &account.token).await;
    assert_eq!(current.body["externalId"], "crm-42");
    let cleared = app
        .patch(
            "/api/companies/current",
            &account.token,
            json!({"externalId": null}),
        )
        .await;
    assert_eq!(cleared.body["externalId"], serde_json::Value::Null);
    assert_eq!(cleared.body["name"], "New Name");
});

storage_test!(two_companies_cannot_share_a_crm_id, |app| {
    let a = app.signup("A").await;
    let b = app.signup("B").await;
    app.patch(
        "/api/companies/current",
        &a.token,
        json!({"externalId": "crm-1"}),
    )
    .await
    .assert_status(200);
    app.patch(
        "/api/companies/current",
        &b.token,
        json!({"externalId": "crm-1"}),
    )
    .await
    .assert_problem(409, "external_id_taken");
});

storage_test!(members_cannot_do_admin_work, |app| {
    let owner = app.signup("Roles Co").await;
    let member = app.signup("Member home").await;
    let token = app.join(&owner, &member, "member").await;
    app.patch(
        "/api/companies/current",
        &token,
        json!({"name": "Hijacked"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.post("/api/api-keys", &token, json!({"name": "k"}))
        .await
        .assert_problem(403, "forbidden");
    app.get("/api/api-keys", &token)
        .await
        .assert_problem(403, "forbidden");
    app.post(
        "/api/companies/current/members",
        &token,
        json!({"email": owner.email, "role": "member"}),
    )
    .await
    .assert_problem(403, "forbidden");
    // Reading is fine.
    app.get("/api/companies/current/members", &token)
        .await
        .assert_status(200);
    let company = app.get("/api/companies/current", &owner.token).await;
    assert_eq!(company.body["name"], "Roles Co");
});

storage_test!(members_can_be_added_listed_promoted_and_removed, |app| {
    let owner = app.signup("Team Co").await;
    let other = app.signup("Other home").await;
    let added = app
        .post(
            "/api/companies/current/members",
            &owner.token,
            json!({"email": other.email, "role": "member"}),
        )
        .await;
    added.assert_status(201);
    assert_eq!(added.body["role"], "member");
    app.post(
        "/api/companies/current/members",
        &owner.token,
        json!({"email": other.email, "role": "member"}),
    )
    .await
    .assert_problem(409, "already_member");
    app.post(
        "/api/companies/current/members",
        &owner.token,
        json!({"email": "ghost@example.com", "role": "member"}),
    )
    .await
    .assert_invalid_field("email");

    let list = app
        .get("/api/companies/current/members", &owner.token)
        .await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(2));

    let path = format!("/api/companies/current/members/{}", other.user_id);
    let promoted = app
        .patch(&path, &owner.token, json!({"role": "admin"}))
        .await;
    promoted.assert_status(200);
    assert_eq!(promoted.body["role"], "admin");
    app.delete(&path, &owner.token).await.assert_status(204);
    app.delete(&path, &owner.token)
        .await
        .assert_problem(404, "member_not_found");
});

storage_test!(a_company_always_keeps_an_owner, |app| {
    let owner = app.signup("Owned Co").await;
    let path = format!("/api/companies/current/members/{}", owner.user_id);
    app.patch(&path, &owner.token, json!({"role": "admin"}))
        .await
        .assert_problem(409, "last_owner");
    app.delete(&path, &owner.token)
        .await
        .assert_problem(409, "last_owner");
});

storage_test!(only_owners_make_or_unmake_owners, |app| {
    let owner = app.signup("Power Co").await;
    let admin = app.signup("Admin home").await;
    let admin_token = app.join(&owner, &admin, "admin").await;
    let third = app.signup("Third home").await;
    app.post(
        "/api/companies/current/members",
        &admin_token,
        json!({"email": third.email, "role": "owner"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.patch(
        &format!("/api/companies/current/members/{}", owner.user_id),
        &admin_token,
        json!({"role": "member"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.patch(
        &format!("/api/companies/current/members/{}", admin.user_id),
        &admin_token,
        json!({"role": "owner"}),
    )
    .await
    .assert_problem(403, "forbidden");
});

storage_test!(
    two_owners_demoting_each_other_at_once_leave_one_owner,
    |app| {
        let first = app.signup("Two Owners").await;
        let second = app.signup("Second home").await;
        let second_token = app.join(&first, &second, "owner").await;
        for _ in 0..5 {
            let second_path = format!("/api/companies/current/members/{}", second.user_id);
            let first_path = format!("/api/companies/current/members/{}", first.user_id);
            let demote_second = app.patch(&second_path, &first.token, json!({"role": "admin"}));
            let demote_first = app.patch(&first_path, &second_token, json!({"role": "admin"}));
            let (a, b) = tokio::join!(demote_second, demote_first);
            let statuses = [a.status.as_u16(), b.status.as_u16()];
            assert!(
                statuses.iter().all(|s| [200, 401, 403, 409].contains(s)),
                "no 5xx: {statuses:?} {} {}",
                a.text,
                b.text
            );
            let members = app
                .get("/api/companies/current/members", &first.token)
                .await;
            let members = if members.status.as_u16() == 200 {
                members
            } else {
                app.get("/api/companies/current/members", &second_token)
                    .await
            };
            let owners = members.body["items"]
                .as_array()
                .map_or(0, |m| m.iter().filter(|m| m["role"] == "owner").count());
            assert_eq!(owners, 1, "exactly one owner remains: {}", members.text);
            // Make both owners again for the next round, from whichever is still owner.
            let owner_token = if a.status.as_u16() == 200 {
                &first.token
            } else {
                &second_token
            };
            for user in [&first.user_id, &second.user_id] {
                app.patch(
                    &format!("/api/companies/current/members/{user}"),
                    owner_token,
                    json!({"role": "owner"}),
                )
                .await;
            }
        }
    }
);
