//! A plain MQTT client for the tests: publishes raw messages as some account, or listens.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use tix_tests::Broker;

/// Publishes `messages` (topic, payload) with QoS 1 as `user`, in order, and waits until the broker
/// has acknowledged them all (the broker acknowledges even what the ACL silently drops).
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
            .expect("broker acknowledged every publish within 30 s")
            .expect("test publisher connection");
        if let Event::Incoming(Packet::PubAck(_)) = event {
            acked += 1;
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
