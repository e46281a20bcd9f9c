//! A plain MQTT client for the tests: publishes raw messages as some account, or listens.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use tix_tests::Broker;

/// Publishes `messages` (topic, payload) with QoS 1 as `user`, in order, and waits until the broker
/// has acknowledged them all (the broker acknowledges even what the ACL silently drops). The broker
/// binds client ids to usernames, so while `user`'s own node is connected the two push each other
/// off: this client reconnects (rumqttc resends what was not acknowledged) until it is done.
pub(crate) async fn publish_as(
    broker: &Broker,
    user: &str,
    pass: &str,
    messages: Vec<(String, Vec<u8>)>,
) {
    let mut options = MqttOptions::new(
        format!("test-{user}-{}", rand::random::<u32>()),
        "127.0.0.1",
        broker.port,
    );
    options
        .set_credentials(user, pass)
        .set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut event_loop) = AsyncClient::new(options, 64);
    let expected = messages.len();
    let publisher = tokio::spawn({
        let client = client.clone();
        async move {
            for (topic, payload) in messages {
                client
                    .publish(topic, QoS::AtLeastOnce, false, payload)
                    .await
                    .unwrap();
            }
        }
    });
    let mut acked = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while acked < expected {
        let event = tokio::time::timeout_at(deadline, event_loop.poll())
            .await
            .expect("broker acknowledged every publish within 30 s");
        match event {
            Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
            Ok(_) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    publisher.await.unwrap();
    client.disconnect().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(1), event_loop.poll()).await;
}

/// Subscribes to `topic` as `user` and returns what arrives within `wait`.
pub(crate) async fn listen_as(
    broker: &Broker,
    user: &str,
    pass: &str,
    topic: &str,
    wait: Duration,
) -> Vec<Vec<u8>> {
    let mut options = MqttOptions::new(
        format!("test-{user}-{}", rand::random::<u32>()),
        "127.0.0.1",
        broker.port,
    );
    options.set_credentials(user, pass);
    let (client, mut event_loop) = AsyncClient::new(options, 16);
    client.subscribe(topic, QoS::AtLeastOnce).await.unwrap();
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(event) = tokio::time::timeout_at(deadline, event_loop.poll()).await {
        if let Ok(Event::Incoming(Packet::Publish(publish))) = event {
            received.push(publish.payload.to_vec());
        }
    }
    received
}

/// Connects as `user` with the client id `client_id` and keeps polling for `hold`, reconnecting
/// whenever the broker drops the connection; how many times the broker accepted it.
pub(crate) async fn hold_connection(
    broker: &Broker,
    client_id: &str,
    user: &str,
    pass: &str,
    hold: Duration,
) -> u32 {
    let mut options = MqttOptions::new(client_id, "127.0.0.1", broker.port);
    options.set_credentials(user, pass);
    let (client, mut event_loop) = AsyncClient::new(options, 16);
    let mut accepted = 0;
    let deadline = tokio::time::Instant::now() + hold;
    while let Ok(event) = tokio::time::timeout_at(deadline, event_loop.poll()).await {
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => accepted += 1,
            Ok(_) => {}
            // Taken over or refused: try again shortly, as a persistent impostor would.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(1), event_loop.poll()).await;
    accepted
}
