//! Inbound routing under concurrency: messages routed at the same time share transactions
//! (group commit), and each still comes out as if routed alone.
use switchboard::{
    discord::{Inbound, Source},
    routing::Outcome,
    types::Snowflake,
};

use crate::helpers::{
    discord::{LeadWithChannel, lead_with_channel},
    gateway::{inbound, routing_events},
    views::{Channel, Lead},
};

storage_test!(
    a_burst_routed_twice_at_once_is_stored_once_and_counted_once,
    |app| {
        let LeadWithChannel {
            account,
            guild,
            lead,
            channel,
        } = lead_with_channel(&app).await;
        // Another member of the server writes 60 messages; the gateway and catch-up both see
        // each of them, all at the same moment.
        // A millisecond apart (a Discord message id carries its time).
        let first = chrono::Utc::now().timestamp_millis() as u64 - 1_420_070_400_000;
        let message = |i: u64, source: Source| Inbound {
            message_id: Snowflake::new((first + i) << 22).expect("non-zero"),
            channel_id: channel.parse().expect("a channel id"),
            guild_id: Some(guild.parse().expect("a guild id")),
            author_id: Snowflake::new(700_000_000_000_000_001).expect("non-zero"),
            author_bot: false,
            author_name: Some("ada".into()),
            webhook_id: None,
            kind: 0,
            nonce: None,
            content: format!("Burst {i}"),
            source,
        };
        let copies: Vec<Inbound> = (0..60)
            .flat_map(|i| [message(i, Source::Gateway), message(i, Source::Catchup)])
            .collect();
        let services = &app.state.services;
        let outcomes = futures::future::join_all(
            copies
                .iter()
                .map(|m| switchboard::routing::route(services, m)),
        )
        .await;
        let (mut stored, mut duplicates) = (0, 0);
        for outcome in outcomes {
            match outcome.expect("routed") {
                Outcome::Stored(_) => stored += 1,
                Outcome::Duplicate => duplicates += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((stored, duplicates), (60, 60));

        let now: Lead = app
            .get(&format!("/api/leads/{}", lead.id), &account.token)
            .await
            .json();
        assert_eq!(now.unread_count, 60);
        assert_eq!(
            now.last_message.expect("a last message").preview,
            "Burst 59"
        );
        let row: Channel = app
            .get(
                &format!("/api/discord/channels/{}", lead.id),
                &account.token,
            )
            .await
            .json();
        assert_eq!(row.message_count, 60);
        assert_eq!(inbound(&app, &account, &lead).await.len(), 60);
        assert_eq!(
            routing_events(&app, &account, "&decision=routed")
                .await
                .len(),
            60
        );
        // Routing them again changes nothing.
        let again = switchboard::routing::route(services, &copies[0])
            .await
            .expect("routed");
        assert_eq!(again, Outcome::Duplicate);
    }
);
