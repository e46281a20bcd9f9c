//! The container images and the compose chain, for real: `scripts/image.sh` builds the three images
//! (FROM scratch) from the workspace's debug binaries, `podman-compose` brings up
//! `packaging/compose.yaml` (the broker, the hub and two venues), both venues sell a ticket over
//! HTTP and the hub shows both sales, then `down -v` leaves nothing of the project behind. A second
//! test checks `packaging/k8s/` against the Kubernetes schemas with `kubernetes-validate`, offline,
//! and shows the check can fail.
//!
//! The tools: podman (Debian's), and podman-compose and kubernetes-validate from PyPI in the venv of
//! `scripts/container-tools.sh` (its bin directory in `TIX_CONTAINER_TOOLS`, as `scripts/test.sh`
//! sets it; else that venv's usual place, else `PATH`). Without podman or podman-compose the chain
//! test says so and passes; without kubernetes-validate, the manifests' test.
//!
//! Podman runs with `packaging/container/test-containers.conf` (`CONTAINERS_CONF`): runc and open
//! file limits that sandboxes like CI's allow; a normal host needs neither.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tix_tests::{free_port, workspace_binary, workspace_dir};

/// Building the three images from debug binaries: stripping them and committing about 150 MB.
const BUILD_LIMIT: Duration = Duration::from_secs(180);
/// Any other command: podman-compose up and down, podman inspect, rm, rmi, kubernetes-validate.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);
/// From `up` until both nodes answer /healthz.
const SERVING_LIMIT: Duration = Duration::from_secs(90);
/// From the last payment until the hub shows both venues' sales.
const SYNC_LIMIT: Duration = Duration::from_secs(90);
const VENUES: [&str; 2] = ["venue-north", "venue-south"];

#[test]
fn the_images_build_and_the_compose_chain_syncs_both_venues_sales_to_the_hub() {
    let tools = match Tools::find() {
        Ok(tools) => tools,
        Err(why) => {
            println!("skipping the container chain test: {why}");
            return;
        }
    };
    let started = Instant::now();
    let unique = format!("t{}-{:08x}", std::process::id(), rand::random::<u32>());
    let bin_dir = workspace_binary("tix-node")
        .parent()
        .expect("the binary's directory")
        .to_owned();
    workspace_binary("tix-hub");
    let ports = [free_port(), free_port(), free_port()];
    let secret = |what: &str| format!("{what}-{:016x}", rand::random::<u64>());
    let env: Vec<(&str, String)> = vec![
        ("CONTAINERS_CONF", tools.conf.display().to_string()),
        ("TIX_IMAGE_TAG", unique.clone()),
        ("TIX_NORTH_PORT", ports[0].to_string()),
        ("TIX_SOUTH_PORT", ports[1].to_string()),
        ("TIX_HUB_PORT", ports[2].to_string()),
        ("TIX_HUB_API_TOKEN", secret("token")),
        ("TIX_HUB_MQTT_PASSWORD", secret("hub")),
        ("TIX_NORTH_MQTT_PASSWORD", secret("north")),
        ("TIX_SOUTH_MQTT_PASSWORD", secret("south")),
    ];
    let token = env
        .iter()
        .find(|(key, _)| *key == "TIX_HUB_API_TOKEN")
        .map(|(_, token)| token.clone())
        .expect("the hub's token");
    let mut chain = Chain {
        tools: &tools,
        project: format!("tix-{unique}"),
        tag: unique.clone(),
        env,
        up: false,
    };

    // The images.
    let build = Instant::now();
    let mut image_sh = chain.command(workspace_dir().join("scripts/image.sh"));
    image_sh
        .arg("--bin-dir")
        .arg(&bin_dir)
        .args(["--tag", &unique]);
    run(&mut image_sh, BUILD_LIMIT);
    println!(
        "built the images in {:.1}s (from the debug binaries, debug info stripped)",
        build.elapsed().as_secs_f64()
    );
    for image in ["tix-node", "tix-hub", "tix-mosquitto"] {
        let size = chain.podman(&[
            "image",
            "inspect",
            "--format",
            "{{.Size}}",
            &format!("{image}:{unique}"),
        ]);
        let bytes: u64 = size.trim().parse().expect("a size in bytes");
        println!(
            "image {image}: {bytes} bytes ({:.1} MB)",
            bytes as f64 / 1e6
        );
    }
    check_image_config(&chain, "tix-node", "/data", "tix-node");
    check_image_config(&chain, "tix-hub", "/data", "tix-hub");
    check_image_config(&chain, "tix-mosquitto", "/var/lib/mosquitto", "mosquitto");

    // The chain, with one command.
    let up = Instant::now();
    chain.up = true;
    chain.compose(&["up", "-d"]);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client");
    let nodes: Vec<String> = ports[..2]
        .iter()
        .map(|port| format!("http://127.0.0.1:{port}"))
        .collect();
    let hub = format!("http://127.0.0.1:{}", ports[2]);
    runtime.block_on(async {
        for (venue, base) in VENUES.iter().zip(&nodes) {
            let serving = wait_for(SERVING_LIMIT.saturating_sub(up.elapsed()), || async {
                let reply = http.get(format!("{base}/healthz")).send().await.ok()?;
                reply.status().is_success().then_some(())
            })
            .await;
            if serving.is_none() {
                chain.show_logs();
                panic!("{venue} did not serve /healthz within {SERVING_LIMIT:?} of `up`");
            }
        }
        println!(
            "compose up to both nodes serving /healthz: {:.1}s",
            up.elapsed().as_secs_f64()
        );

        for (venue, base) in VENUES.iter().zip(&nodes) {
            sell_one_ticket(&http, base, venue).await;
        }
        let sold = Instant::now();
        let venues = wait_for(SYNC_LIMIT, || async {
            let reply = http
                .get(format!("{hub}/api/hub/venues"))
                .bearer_auth(&token)
                .send()
                .await
                .ok()?;
            if !reply.status().is_success() {
                return None;
            }
            let venues: Value = reply.json().await.ok()?;
            VENUES
                .iter()
                .all(|venue| orders_at(&venues, venue) >= 1)
                .then_some(venues)
        })
        .await;
        let Some(venues) = venues else {
            chain.show_logs();
            panic!("the hub did not show both venues' sales within {SYNC_LIMIT:?}");
        };
        println!(
            "the hub showed both venues' sales {:.1}s after the last payment: {}",
            sold.elapsed().as_secs_f64(),
            VENUES
                .map(|venue| format!("{venue} {} order(s)", orders_at(&venues, venue)))
                .join(", ")
        );
        // The hub's API wants its token.
        let refused = http
            .get(format!("{hub}/api/hub/venues"))
            .send()
            .await
            .expect("the hub answers");
        assert_eq!(refused.status(), 401, "the hub's API without a token");
    });

    // Down, and nothing of the project left.
    chain.compose(&["down", "-v"]);
    chain.up = false;
    let label = format!("label=io.podman.compose.project={}", chain.project);
    let containers = chain.podman(&["ps", "-a", "--filter", &label, "--format", "{{.Names}}"]);
    assert_eq!(containers.trim(), "", "containers left after `down -v`");
    let volumes = chain.podman(&["volume", "ls", "--format", "{{.Name}}"]);
    let prefix = format!("{}_", chain.project);
    let left: Vec<&str> = volumes
        .lines()
        .filter(|name| name.starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "volumes left after `down -v`: {left:?}");
    let networks = chain.podman(&["network", "ls", "--format", "{{.Name}}"]);
    let left: Vec<&str> = networks
        .lines()
        .filter(|name| name.starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "networks left after `down -v`: {left:?}");
    println!(
        "the container chain test took {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_kubernetes_manifests_match_the_schemas_and_a_broken_one_does_not() {
    let Some(validate) = Tools::tool("kubernetes-validate") else {
        println!(
            "skipping the Kubernetes manifests test: kubernetes-validate is not installed \
             (scripts/container-tools.sh installs it; TIX_CONTAINER_TOOLS names its bin directory)"
        );
        return;
    };
    let k8s = workspace_dir().join("packaging/k8s");
    let manifests = ["hub.yaml", "mosquitto.yaml"].map(|name| k8s.join(name));
    let mut check = Command::new(&validate);
    check.arg("--strict").args(&manifests);
    let said = run(&mut check, COMMAND_LIMIT);
    for kind in [
        "secret/tix-hub",
        "service/tix-hub",
        "statefulset/tix-hub",
        "secret/tix-mosquitto-passwd",
        "configmap/tix-mosquitto-acl",
        "service/tix-mosquitto",
        "statefulset/tix-mosquitto",
    ] {
        assert!(
            said.contains(&format!("passed for resource {kind} ")),
            "kubernetes-validate did not check {kind}:\n{said}"
        );
    }

    // A misspelt field and a count that is no number: each fails, and is named.
    let out = tempfile::tempdir().expect("a temporary directory");
    let hub = std::fs::read_to_string(&manifests[0]).expect("hub.yaml");
    for (from, to, complaint) in [
        (
            "  serviceName: tix-hub",
            "  servceName: tix-hub",
            "'servceName' was unexpected",
        ),
        (
            "  replicas: 1",
            "  replicas: one",
            "'one' is not of type 'integer'",
        ),
    ] {
        assert!(hub.contains(from), "hub.yaml has no {from:?}");
        let broken = out.path().join("broken.yaml");
        std::fs::write(&broken, hub.replacen(from, to, 1)).expect("writing broken.yaml");
        let output = Command::new(&validate)
            .arg("--strict")
            .arg(&broken)
            .output()
            .expect("running kubernetes-validate");
        let said = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{to:?} passed validation:\n{said}"
        );
        assert!(said.contains(complaint), "{to:?}: {said}");
    }

    // The broker's ACL ConfigMap is packaging/mosquitto/acl, word for word (read with the venv's
    // PyYAML, which kubernetes-validate brings).
    let python = validate.with_file_name("python3");
    let mut read = Command::new(&python);
    read.args([
        "-c",
        "import json, sys, yaml\n\
         docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]\n\
         print(json.dumps([d['data']['tix.acl'] for d in docs if d['kind'] == 'ConfigMap'][0]))",
    ])
    .arg(&manifests[1]);
    let acl: String = serde_json::from_str(&run(&mut read, COMMAND_LIMIT)).expect("the ACL");
    let shipped = std::fs::read_to_string(workspace_dir().join("packaging/mosquitto/acl"))
        .expect("packaging/mosquitto/acl");
    assert_eq!(
        acl, shipped,
        "the ConfigMap's ACL differs from packaging/mosquitto/acl"
    );
}

/// Where the tools are.
struct Tools {
    podman: PathBuf,
    compose: PathBuf,
    /// The sandbox's containers.conf.
    conf: PathBuf,
}

impl Tools {
    /// Podman and podman-compose, or why the test cannot run.
    fn find() -> Result<Tools, String> {
        let podman = Self::tool("podman")
            .ok_or("podman is not installed (Debian: apt install podman runc)")?;
        let compose = Self::tool("podman-compose").ok_or(
            "podman-compose is not installed (scripts/container-tools.sh installs it; \
             TIX_CONTAINER_TOOLS names its bin directory)",
        )?;
        let conf = workspace_dir().join("packaging/container/test-containers.conf");
        Ok(Tools {
            podman,
            compose,
            conf,
        })
    }

    /// `name` in TIX_CONTAINER_TOOLS, in scripts/container-tools.sh's venv, or on PATH.
    fn tool(name: &str) -> Option<PathBuf> {
        let venv = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
            .map(|cache| cache.join("tix/container-tools-venv/bin"));
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::var_os("TIX_CONTAINER_TOOLS")
            .map(PathBuf::from)
            .into_iter()
            .chain(venv)
            .chain(std::env::split_paths(&path))
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    }
}

/// A compose project and its images; dropped, it takes the chain down (with its volumes) if it is
/// up and removes the images, whether the test passed or not.
struct Chain<'a> {
    tools: &'a Tools,
    project: String,
    tag: String,
    env: Vec<(&'static str, String)>,
    up: bool,
}

impl Chain<'_> {
    /// `program` with the chain's environment.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.envs(self.env.iter().map(|(key, value)| (key, value)));
        command
    }

    fn podman(&self, args: &[&str]) -> String {
        run(self.command(&self.tools.podman).args(args), COMMAND_LIMIT)
    }

    /// `podman-compose -p PROJECT -f packaging/compose.yaml ARGS`.
    fn compose_command(&self, args: &[&str]) -> Command {
        let mut command = self.command(&self.tools.compose);
        command
            .args(["-p", &self.project, "-f"])
            .arg(workspace_dir().join("packaging/compose.yaml"))
            .args(args);
        command
    }

    fn compose(&self, args: &[&str]) -> String {
        run(&mut self.compose_command(args), COMMAND_LIMIT)
    }

    /// Every service's last lines, to explain a failure.
    fn show_logs(&self) {
        let logs = self
            .compose_command(&["logs", "--tail", "40"])
            .output()
            .map(|output| {
                String::from_utf8_lossy(&output.stdout).into_owned()
                    + &String::from_utf8_lossy(&output.stderr)
            })
            .unwrap_or_else(|e| format!("podman-compose logs: {e}"));
        eprintln!("== the chain's logs\n{logs}");
    }
}

impl Drop for Chain<'_> {
    fn drop(&mut self) {
        if self.up {
            let _ = self.compose_command(&["down", "-v"]).output();
            // Whatever `down` missed (a container it did not know of).
            let label = format!("label=io.podman.compose.project={}", self.project);
            let _ = self
                .command(&self.tools.podman)
                .args(["rm", "-f", "--volumes", "--filter", &label])
                .output();
        }
        for image in ["tix-node", "tix-hub", "tix-mosquitto"] {
            let _ = self
                .command(&self.tools.podman)
                .args(["rmi", "-f", &format!("{image}:{}", self.tag)])
                .output();
        }
    }
}

/// Checks what the image says of itself: its user, its volume, its entry point, its health check.
fn check_image_config(chain: &Chain<'_>, image: &str, volume: &str, binary: &str) {
    let inspected = chain.podman(&["image", "inspect", &format!("{image}:{}", chain.tag)]);
    let inspected: Value = serde_json::from_str(&inspected).expect("the image as JSON");
    let inspected = &inspected[0];
    let config = &inspected["Config"];
    assert_eq!(config["User"], "10001:10001", "{image}'s user");
    assert!(
        config["Volumes"].get(volume).is_some(),
        "{image} declares no volume {volume}: {config}"
    );
    let entrypoint = config["Entrypoint"][0].as_str().unwrap_or_default();
    assert!(
        entrypoint.ends_with(&format!("/{binary}")),
        "{image}'s entrypoint: {config}"
    );
    if binary.starts_with("tix-") {
        assert_eq!(
            inspected["Healthcheck"]["Test"],
            json!(["CMD", format!("/usr/bin/{binary}"), "health"]),
            "{image}'s health check"
        );
    }
}

/// Signs a buyer up at the node on `base` and sells one ticket to them, paid in test mode.
async fn sell_one_ticket(http: &reqwest::Client, base: &str, venue: &str) {
    let post = |path: &str, cookie: Option<&str>, body: Value| {
        let mut request = http.post(format!("{base}{path}")).json(&body);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    let reply = post(
        "/api/users/signup",
        None,
        json!({"email": format!("buyer@{venue}.test"), "password": "password"}),
    )
    .await
    .expect("sign-up answered");
    assert_eq!(reply.status(), 201, "{venue}: sign-up");
    let cookie = reply
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("session="))
        .and_then(|value| value.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let ticket = created(
        venue,
        "a ticket",
        post(
            "/api/tickets",
            Some(&cookie),
            json!({"title": format!("Opening night at {venue}"), "price": 25}),
        )
        .await
        .expect("the ticket answered"),
    )
    .await;
    let order = created(
        venue,
        "an order",
        post(
            "/api/orders",
            Some(&cookie),
            json!({"ticketId": ticket["id"]}),
        )
        .await
        .expect("the order answered"),
    )
    .await;
    created(
        venue,
        "a payment",
        post(
            "/api/payments",
            Some(&cookie),
            json!({"orderId": order["id"], "token": "tok_visa"}),
        )
        .await
        .expect("the payment answered"),
    )
    .await;
}

/// The body of a 201 answer; anything else fails the test, naming the venue and what was made.
async fn created(venue: &str, what: &str, reply: reqwest::Response) -> Value {
    let status = reply.status();
    let body: Value = reply.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 201, "{venue}: {what}: {body}");
    body
}

/// The hub's count of `venue`'s paid orders in a `GET /api/hub/venues` answer (0 if absent).
fn orders_at(venues: &Value, venue: &str) -> i64 {
    venues
        .as_array()
        .into_iter()
        .flatten()
        .find(|entry| entry["venue"] == venue)
        .and_then(|entry| entry["sales"]["orders"].as_i64())
        .unwrap_or(0)
}

/// Polls `check` every 250 ms until it answers, for at most `limit`.
async fn wait_for<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs `command` to its end within `limit` (killed after it); what it printed on stdout. A
/// failure panics with everything it printed.
fn run(command: &mut Command, limit: Duration) -> String {
    let shown = format!("{command:?}");
    let out = tempfile::tempdir().expect("a temporary directory");
    let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
    let file = |path: &Path| std::fs::File::create(path).expect("an output file");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(file(&stdout))
        .stderr(file(&stderr))
        .spawn()
        .unwrap_or_else(|e| panic!("starting {shown}: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a command") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let (said, complained) = (read(&stdout), read(&stderr));
    match status {
        Some(status) if status.success() => said,
        Some(status) => panic!("{shown}: {status}\n{said}\n{complained}"),
        None => panic!("{shown} did not finish within {limit:?}\n{said}\n{complained}"),
    }
}
