//! The Debian packages, for real: `scripts/package.sh` builds them from the workspace's debug
//! binaries, `dpkg-deb` shows what is inside, `systemd-analyze verify` checks both units, `dpkg -i`
//! installs them on this machine, and the node and the hub are started the way their units start
//! them (as the `tix` user, with the unit's environment file and state directory). Then `dpkg -r`
//! keeps the data and settings, and `dpkg --purge` leaves the machine as it was.
//!
//! It needs root and dpkg; without either it says so and passes. It refuses to run where any of
//! the packages, or their data directories, are already there: it would purge them at its end.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tix_tests::{Process, eventually, free_port, workspace_binary, workspace_dir};

const PACKAGES: [&str; 3] = ["tix-node", "tix-hub", "tix-box-office"];
/// Building the three packages from debug binaries: mostly xz, over 200 MB in all.
const PACKAGE_LIMIT: Duration = Duration::from_secs(15 * 60);
/// Any other command: dpkg, dpkg-deb, systemd-analyze, userdel.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);
/// A debug build of the node or the hub answering its health route after its start.
const START_LIMIT: Duration = Duration::from_secs(60);

#[test]
fn the_debian_packages_install_run_as_their_units_say_and_purge_cleanly() {
    if let Some(why) = cannot_run() {
        println!("skipping the Debian packages test: {why}");
        return;
    }
    let started = Instant::now();
    refuse_a_machine_that_has_them();
    let out = tempfile::tempdir().expect("a temporary directory");
    let debs = build_and_inspect(out.path());

    // The units as shipped, verified once the binaries are where their ExecStart says.
    let shipped = out.path().join("shipped");
    for deb in &debs[..2] {
        run(
            command("dpkg-deb", &["-x"]).arg(deb).arg(&shipped),
            COMMAND_LIMIT,
        );
    }
    let mut machine = Cleanup {
        installed: true,
        remove_user: !user_exists(),
    };
    run(command("dpkg", &["-i"]).args(&debs), COMMAND_LIMIT);
    for unit in ["tix-node.service", "tix-hub.service"] {
        let file = shipped.join("lib/systemd/system").join(unit);
        verify_unit(&file, unit);
        let installed = Path::new("/lib/systemd/system").join(unit);
        assert_eq!(read(&file), read(&installed), "{unit} as installed");
    }
    check_installed();

    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client");
    let data_dir = run_node(&runtime, &http);
    run_hub(&runtime, &http);

    // Removed: the binaries go, the venue's data and the settings stay.
    run(command("dpkg", &["-r"]).args(PACKAGES), COMMAND_LIMIT);
    assert!(!Path::new("/usr/bin/tix-node").exists(), "dpkg -r left it");
    assert!(!redb_files(&data_dir).is_empty(), "dpkg -r lost the stores");
    for kept in ["/etc/tix/node.env", "/etc/tix/hub.env"] {
        assert!(Path::new(kept).exists(), "dpkg -r lost {kept}");
    }

    // Purged: nothing of them is left.
    machine.purge();
    for gone in ["/var/lib/tix-node", "/var/lib/tix-hub", "/etc/tix"] {
        assert!(!Path::new(gone).exists(), "{gone} is left after the purge");
    }
    for name in PACKAGES {
        assert!(!known_to_dpkg(name), "dpkg still knows {name}");
    }
    machine.remove_user();
    println!(
        "packages built, checked, installed, run, removed and purged in {:.0?}",
        started.elapsed()
    );
}

/// Why this machine cannot run the test, if it cannot.
fn cannot_run() -> Option<String> {
    if Command::new("dpkg").arg("--version").output().is_err() {
        return Some("dpkg is missing (not a Debian system)".into());
    }
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not running as root (dpkg -i needs it)".into());
    }
    None
}

/// Panics unless none of the packages is known to dpkg and their data directories do not exist:
/// the test purges all of that at its end.
fn refuse_a_machine_that_has_them() {
    for name in PACKAGES {
        assert!(
            !known_to_dpkg(name),
            "{name} is installed here; this test installs and purges the packages, so it will not \
             run over an existing install: `dpkg --purge {}` first",
            PACKAGES.join(" ")
        );
    }
    for dir in ["/var/lib/tix-node", "/var/lib/tix-hub"] {
        assert!(
            !Path::new(dir).exists(),
            "{dir} exists here; this test's purge would delete it: move it away first"
        );
    }
}

/// Whether dpkg has a status for `package` (installed, or removed with its conffiles kept).
fn known_to_dpkg(package: &str) -> bool {
    Command::new("dpkg")
        .args(["-s", package])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Runs `scripts/package.sh --bin-dir <debug> --out <dir>` and checks what each package holds;
/// answers the three .deb files, in the order of `PACKAGES`.
fn build_and_inspect(dir: &Path) -> Vec<PathBuf> {
    let mut package = Command::new("bash");
    package
        .arg(workspace_dir().join("scripts/package.sh"))
        .arg("--bin-dir")
        .arg(binaries_dir())
        .arg("--out")
        .arg(dir);
    run(&mut package, PACKAGE_LIMIT);
    let debs: Vec<PathBuf> = PACKAGES.iter().map(|name| deb(dir, name)).collect();
    for (deb, name) in debs.iter().zip(PACKAGES) {
        let info = run(command("dpkg-deb", &["--info"]).arg(deb), COMMAND_LIMIT);
        assert!(info.contains(&format!("Package: {name}")), "{info}");
        assert!(info.contains("Depends: libc6"), "{info}");
        let contents = run(command("dpkg-deb", &["--contents"]).arg(deb), COMMAND_LIMIT);
        let mut paths = vec![format!("./usr/bin/{name}")];
        if name == "tix-box-office" {
            for library in ["libwebkit2gtk-4.1-0", "libgtk-3-0"] {
                assert!(info.contains(library), "no {library} in:\n{info}");
            }
            assert!(
                !info.contains("conffiles"),
                "no settings, no conffile:\n{info}"
            );
            paths.push("./usr/share/applications/tix-box-office.desktop".into());
            paths.push("./usr/share/icons/hicolor/128x128/apps/tix-box-office.png".into());
        } else {
            let env = format!("/etc/tix/{}.env", name.trim_start_matches("tix-"));
            let conffiles = run(
                command("dpkg-deb", &["--info"]).arg(deb).arg("conffiles"),
                COMMAND_LIMIT,
            );
            assert_eq!(conffiles.trim(), env, "{name}'s conffiles");
            paths.push(format!(".{env}"));
            paths.push(format!("./lib/systemd/system/{name}.service"));
        }
        for path in paths {
            let has = contents
                .lines()
                .any(|line| line.ends_with(&format!(" {path}")));
            assert!(has, "{name} has no {path}:\n{contents}");
        }
    }
    debs
}

/// The directory with tix-node, tix-hub (the harness's own build) and tix-box-office: the box
/// office is built with its crate's tests, and here only when this test runs alone.
fn binaries_dir() -> PathBuf {
    let node = workspace_binary("tix-node");
    let dir = node.parent().expect("the binaries' directory").to_owned();
    if !dir.join("tix-box-office").exists() {
        let profile = match dir.file_name().and_then(|name| name.to_str()) {
            Some("debug") => "dev",
            Some(other) => other,
            None => panic!("no profile in {}", dir.display()),
        };
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = command(&cargo, &["build", "-p", "tix-desktop", "--bin"]);
        build
            .args(["tix-box-office", "--profile", profile, "--manifest-path"])
            .arg(workspace_dir().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(dir.parent().expect("target/<profile> has a parent"));
        run(&mut build, PACKAGE_LIMIT);
    }
    dir
}

/// The .deb of `package` in `dir`: exactly one.
fn deb(dir: &Path, package: &str) -> PathBuf {
    let prefix = format!("{package}_");
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the packages' directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with(&prefix) && name.ends_with(".deb")
        })
        .collect();
    assert_eq!(found.len(), 1, "{package}'s .deb: {found:?}");
    found.into_iter().next().expect("one .deb")
}

/// `systemd-analyze verify` on the unit as shipped: it must succeed and say nothing about it.
fn verify_unit(path: &Path, unit: &str) {
    let mut verify = command("systemd-analyze", &["verify"]);
    verify.arg(path).env("SYSTEMD_LOG_LEVEL", "info");
    let output = run(&mut verify, COMMAND_LIMIT);
    let stem = unit.trim_end_matches(".service");
    let about_it: Vec<&str> = output.lines().filter(|line| line.contains(stem)).collect();
    assert!(
        about_it.is_empty(),
        "systemd-analyze verify {unit}:\n{output}"
    );
}

/// What the maintainer scripts did: the tix user, the settings files root:tix 0640; and every
/// binary starts (the box office's libraries all resolve: its Depends were enough).
fn check_installed() {
    assert!(user_exists(), "postinst made no tix user");
    let tix_gid = id("-g");
    for env_file in ["/etc/tix/node.env", "/etc/tix/hub.env"] {
        let meta = std::fs::metadata(env_file).unwrap_or_else(|e| panic!("{env_file}: {e}"));
        assert_eq!(
            meta.permissions().mode() & 0o7777,
            0o640,
            "{env_file}'s mode"
        );
        assert_eq!((meta.uid(), meta.gid()), (0, tix_gid), "{env_file}'s owner");
    }
    for name in PACKAGES {
        run(
            &mut command(&format!("/usr/bin/{name}"), &["--version"]),
            COMMAND_LIMIT,
        );
    }
}

/// The node, as tix-node.service starts it: healthy, listing tickets, stopping cleanly on SIGTERM
/// within the unit's TimeoutStopSec, its stores the tix user's. Answers its data dir.
fn run_node(runtime: &tokio::runtime::Runtime, http: &reqwest::Client) -> PathBuf {
    let node = Unit::installed("tix-node.service");
    let port = free_port();
    let mut running = node.start("TIX_LISTEN", port);
    let base = format!("http://127.0.0.1:{port}");
    let healthy = runtime.block_on(eventually(START_LIMIT, || {
        answers_ok(http, format!("{base}/healthz"), None)
    }));
    assert!(healthy, "no 200 from /healthz:\n{}", running.log().text());
    let tickets = runtime
        .block_on(async {
            http.get(format!("{base}/api/tickets"))
                .send()
                .await?
                .text()
                .await
        })
        .unwrap_or_else(|e| panic!("GET /api/tickets: {e}\n{}", running.log().text()));
    let list = serde_json::from_str::<serde_json::Value>(&tickets);
    assert!(
        list.is_ok_and(|v| v.is_array()),
        "GET /api/tickets: {tickets}"
    );
    node.stop(&mut running);

    let data_dir = PathBuf::from(&node.env["TIX_DATA_DIR"]);
    let stores = redb_files(&data_dir);
    assert!(!stores.is_empty(), "no *.redb in {}", data_dir.display());
    let tix_uid = id("-u");
    for store in &stores {
        let owner = std::fs::metadata(store).expect("a store's metadata").uid();
        assert_eq!(owner, tix_uid, "{} is not the tix user's", store.display());
    }
    data_dir
}

/// The hub, as tix-hub.service starts it: its health answers with the API token it generated
/// beside its database, and it stops cleanly.
fn run_hub(runtime: &tokio::runtime::Runtime, http: &reqwest::Client) {
    let hub = Unit::installed("tix-hub.service");
    let port = free_port();
    let mut running = hub.start("TIX_HUB_LISTEN", port);
    let token_file = format!("{}.api-token", hub.env["TIX_HUB_DB"]);
    let health = format!("http://127.0.0.1:{port}/api/hub/health");
    let healthy = runtime.block_on(eventually(START_LIMIT, || {
        let token = std::fs::read_to_string(&token_file).ok();
        answers_ok(http, health.clone(), token)
    }));
    assert!(
        healthy,
        "no 200 from the hub's health:\n{}",
        running.log().text()
    );
    hub.stop(&mut running);
}

/// `program` with `args`.
fn command(program: &str, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command.args(args);
    command
}

/// Runs `command` to its end within `limit` and answers its output (stdout and stderr, by line);
/// panics with that output when it fails or takes longer.
fn run(command: &mut Command, limit: Duration) -> String {
    let what = format!("{command:?}");
    let program = command.get_program().to_string_lossy().into_owned();
    let mut spawned = std::mem::replace(command, Command::new("true"));
    spawned.env("LC_ALL", "C");
    let mut process = Process::spawn(spawned, &program).unwrap_or_else(|e| panic!("{e:#}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = process.exited() {
            break status;
        }
        if Instant::now() > deadline {
            process.kill9();
            panic!("{what} took over {limit:?}:\n{}", process.log().text());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The log's readers have the last lines once both pipes are closed, at the exit.
    let _ = process
        .log()
        .wait_for(Duration::from_secs(10), |_| None::<()>);
    let output = process.log().text();
    assert!(status.success(), "{what} failed ({status}):\n{output}");
    output
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn user_exists() -> bool {
    Command::new("getent")
        .args(["passwd", "tix"])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// `id <flag> tix`: the tix user's uid (`-u`) or group id (`-g`).
fn id(flag: &str) -> u32 {
    let output = run(&mut command("id", &[flag, "tix"]), COMMAND_LIMIT);
    output
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("id {flag} tix: {output:?}"))
}

/// The `*.redb` files directly in `dir` (none when it does not exist).
fn redb_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "redb"))
        .collect()
}

/// Whether `url` answers 200 (given the bearer `token`, if any).
async fn answers_ok(http: &reqwest::Client, url: String, token: Option<String>) -> bool {
    let mut request = http.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token.trim());
    }
    request
        .send()
        .await
        .is_ok_and(|response| response.status() == reqwest::StatusCode::OK)
}

/// An installed unit's `[Service]` settings, and the variables of its environment file.
struct Unit {
    name: String,
    service: HashMap<String, String>,
    env: HashMap<String, String>,
}

impl Unit {
    /// Reads `/lib/systemd/system/<name>` and the environment file it names.
    fn installed(name: &str) -> Unit {
        let text = read(&Path::new("/lib/systemd/system").join(name));
        let mut service = HashMap::new();
        let mut section = "";
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line;
            } else if section == "[Service]"
                && !line.starts_with('#')
                && let Some((key, value)) = line.split_once('=')
            {
                service.insert(key.trim().to_owned(), value.trim().to_owned());
            }
        }
        let mut unit = Unit {
            name: name.to_owned(),
            service,
            env: HashMap::new(),
        };
        // A leading '-' only makes the file optional.
        let env_file = unit.setting("EnvironmentFile").trim_start_matches('-');
        unit.env = environment_file(&read(Path::new(env_file)));
        unit
    }

    fn setting(&self, key: &str) -> &str {
        self.service
            .get(key)
            .unwrap_or_else(|| panic!("{} has no {key}=", self.name))
    }

    /// What systemd does: the state directory, made and owned by the unit's user; then ExecStart
    /// as that user, in the working directory, with the environment file's variables (and
    /// systemd's own) and nothing else, but `listen` set to `127.0.0.1:port`.
    fn start(&self, listen: &str, port: u16) -> Process {
        let user = self.setting("User");
        let group = self.setting("Group");
        let state = Path::new("/var/lib").join(self.setting("StateDirectory"));
        std::fs::create_dir_all(&state).expect("making the state directory");
        let mode = self
            .service
            .get("StateDirectoryMode")
            .map_or("0755", String::as_str);
        let mode = u32::from_str_radix(mode, 8).expect("an octal StateDirectoryMode");
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(mode))
            .expect("the state directory's mode");
        std::os::unix::fs::chown(&state, Some(id("-u")), Some(id("-g")))
            .expect("giving the state directory to the unit's user");

        let mut command = Command::new("setpriv");
        command
            .arg(format!("--reuid={user}"))
            .arg(format!("--regid={group}"))
            .arg("--init-groups");
        if self
            .service
            .get("NoNewPrivileges")
            .is_some_and(|v| v == "yes")
        {
            command.arg("--no-new-privs");
        }
        command
            .arg("--")
            .args(self.setting("ExecStart").split_whitespace())
            .env_clear()
            .envs(&self.env)
            .env(listen, format!("127.0.0.1:{port}"))
            .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin")
            .env("USER", user)
            .env("LOGNAME", user)
            .env("HOME", "/var/lib/tix")
            .env("STATE_DIRECTORY", &state)
            .current_dir(
                self.service
                    .get("WorkingDirectory")
                    .map_or("/", String::as_str),
            );
        Process::spawn(command, &self.name).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// KillSignal (SIGTERM); the process must exit 0 within TimeoutStopSec.
    fn stop(&self, process: &mut Process) {
        assert_eq!(self.setting("KillSignal"), "SIGTERM");
        let seconds = self.setting("TimeoutStopSec").trim_end_matches('s');
        let limit = Duration::from_secs(seconds.parse().expect("TimeoutStopSec in seconds"));
        let status = process
            .terminate(limit)
            .unwrap_or_else(|e| panic!("{e:#}\n{}", process.log().text()));
        let log = process.log().text();
        assert!(status.success(), "{} exited {status}:\n{log}", self.name);
    }
}

/// The variables of a systemd environment file: `KEY=VALUE` lines, `#` and `;` comments, values
/// optionally quoted.
fn environment_file(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with(';'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            let value = value.trim();
            let unquoted = ['"', '\'']
                .iter()
                .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(value);
            (key.trim().to_owned(), unquoted.to_owned())
        })
        .collect()
}

/// What the test changed on this machine, undone at its end or when it fails half way.
struct Cleanup {
    installed: bool,
    remove_user: bool,
}

impl Cleanup {
    /// `dpkg --purge` of those of the packages dpkg still knows (a removed package without
    /// conffiles, the box office, is already gone).
    fn purge(&mut self) {
        if std::mem::take(&mut self.installed) {
            let known: Vec<&str> = PACKAGES.into_iter().filter(|p| known_to_dpkg(p)).collect();
            run(command("dpkg", &["--purge"]).args(known), COMMAND_LIMIT);
        }
    }

    /// The tix user and group, when the test's install made them (purging the packages leaves
    /// them, as Debian's packages do).
    fn remove_user(&mut self) {
        if std::mem::take(&mut self.remove_user) {
            run(&mut command("userdel", &["tix"]), COMMAND_LIMIT);
            let group = Command::new("getent").args(["group", "tix"]).output();
            if group.is_ok_and(|output| output.status.success()) {
                run(&mut command("groupdel", &["tix"]), COMMAND_LIMIT);
            }
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        // The test failed half way: leave no package, data or user behind all the same, without
        // panicking again (that would abort, hiding the first panic); coreutils' timeout bounds it.
        let limit = COMMAND_LIMIT.as_secs().to_string();
        let undo = |args: &[&str]| Command::new("timeout").arg(&limit).args(args).status();
        if self.installed {
            let _ = undo(&["dpkg", "--purge", PACKAGES[0], PACKAGES[1], PACKAGES[2]]);
        }
        if self.remove_user {
            let _ = undo(&["userdel", "tix"]);
            let _ = undo(&["groupdel", "tix"]);
        }
    }
}
