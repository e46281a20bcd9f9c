//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes).
//!
//! Each hash takes about 20 MiB and tens of milliseconds of a core. `Passwords` runs them on a few
//! threads of its own (one per core): a burst of sign-ups queues instead of taking a gigabyte, and
//! because each thread reuses its allocator arena, the memory stays at about 20 MiB per thread
//! rather than growing with every thread of a general-purpose pool.
//!
//! The queue in front of the threads is bounded: when it is full a new job is refused at once
//! (`PasswordError::Busy`, which the edges answer with 503 and `Retry-After`) rather than making
//! every later sign-in wait behind a flood.

use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use tokio::sync::oneshot;

/// A stored hash that no password matches, verified for sign-ins of unknown emails so that they
/// cost what a real check costs (the same parameters as `Hasher::hash`; a unit test checks).
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$dGl4LWR1bW15LXNhbHQhIQ$bm8gYWNjb3VudCBoYXMgdGhpcyBwYXNzd29yZCB4eCE";

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The queue is full; try again shortly.
    #[error("the password hashing queue is full")]
    Busy,
    #[error("password hashing stopped")]
    Stopped,
    #[error("hashing failed: {0}")]
    Failed(String),
}

enum Job {
    Hash(String, oneshot::Sender<Result<String, PasswordError>>),
    Verify(String, String, oneshot::Sender<bool>),
}

/// The hashing threads; dropping this ends them after their current job.
pub struct Passwords {
    jobs_tx: Option<mpsc::SyncSender<Job>>,
    workers: Vec<thread::JoinHandle<()>>,
}

impl Passwords {
    /// Starts `parallel` hashing threads, with at most `queue` jobs waiting for them.
    pub fn new(parallel: usize, queue: usize) -> std::io::Result<Passwords> {
        let (jobs_tx, jobs_rx) = mpsc::sync_channel::<Job>(queue);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let workers = (0..parallel.max(1))
            .map(|n| {
                let jobs_rx = jobs_rx.clone();
                thread::Builder::new()
                    .name(format!("tix-passwords-{n}"))
                    .spawn(move || {
                        let mut hasher = Hasher::new();
                        loop {
                            let job = jobs_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                            match job {
                                Ok(Job::Hash(password, reply)) => {
                                    let hashed = hasher
                                        .hash(&password)
                                        .map_err(|e| PasswordError::Failed(e.to_string()));
                                    let _ = reply.send(hashed);
                                }
                                Ok(Job::Verify(password, stored, reply)) => {
                                    let _ = reply.send(hasher.verify(&password, &stored));
                                }
                                Err(_) => return,
                            }
                        }
                    })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Passwords {
            jobs_tx: Some(jobs_tx),
            workers,
        })
    }

    fn submit(&self, job: Job) -> Result<(), PasswordError> {
        let jobs_tx = self.jobs_tx.as_ref().ok_or(PasswordError::Stopped)?;
        jobs_tx.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => PasswordError::Busy,
            mpsc::TrySendError::Disconnected(_) => PasswordError::Stopped,
        })
    }

    /// Hashes a password into a PHC string with a fresh random salt.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        let (reply_tx, reply_rx) = oneshot::channel();
        self.submit(Job::Hash(password, reply_tx))?;
        reply_rx.await.map_err(|_| PasswordError::Stopped)?
    }

    /// Whether `password` matches a stored PHC hash.
    pub async fn verify(&self, password: String, stored: String) -> Result<bool, PasswordError> {
        let (reply_tx, reply_rx) = oneshot::channel();
        self.submit(Job::Verify(password, stored, reply_tx))?;
        reply_rx.await.map_err(|_| PasswordError::Stopped)
    }
}

impl Drop for Passwords {
    fn drop(&mut self) {
        self.jobs_tx.take();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// One hashing thread's working memory, reused across hashes. (Allocating the 19 MiB afresh for
/// every hash, as `Argon2::hash_password` does, left about 15 MiB behind per call in measurements
/// on these machines.)
struct Hasher {
    blocks: Vec<Block>,
}

impl Hasher {
    fn new() -> Hasher {
        Hasher { blocks: Vec::new() }
    }

    fn memory(&mut self, params: &Params) -> &mut [Block] {
        let count = params.block_count();
        if self.blocks.len() != count {
            self.blocks = vec![Block::default(); count];
        }
        &mut self.blocks
    }

    /// Hashes a password into a PHC string with a fresh random salt.
    fn hash(&mut self, password: &str) -> anyhow::Result<String> {
        let params = Params::default();
        let mut salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
        let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(
                password.as_bytes(),
                &salt,
                &mut output,
                self.memory(&params),
            )
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params)
                .map_err(|e| anyhow::anyhow!("hash parameters: {e}"))?,
            salt: Some(Salt::new(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?),
            hash: Some(Output::new(&output).map_err(|e| anyhow::anyhow!("hash output: {e}"))?),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches a stored PHC hash. A malformed stored hash never matches.
    fn verify(&mut self, password: &str, stored: &str) -> bool {
        let Ok(phc) = PasswordHash::new(stored) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else {
            return false;
        };
        let Ok(params) = Params::try_from(&phc) else {
            return false;
        };
        let version = phc
            .version
            .and_then(|v| Version::try_from(v).ok())
            .unwrap_or_default();
        let mut output = vec![0u8; expected.len()];
        let hashed = Argon2::new(algorithm, version, params.clone())
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                &mut output,
                self.memory(&params),
            );
        // `Output`'s equality is constant-time.
        hashed.is_ok() && Output::new(&output).is_ok_and(|actual| actual == *expected)
    }
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher, PasswordVerifier};

    use super::{DUMMY_HASH, Hasher, PasswordError, Passwords};

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does_and_matches_nothing() {
        let mut hasher = Hasher::new();
        let real = hasher.hash("anything").unwrap();
        let params = |phc: &str| phc.rsplitn(3, '$').nth(2).unwrap().to_owned();
        assert_eq!(params(DUMMY_HASH), params(&real), "same algorithm and cost");
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
        for guess in ["", "password", "no account has this password xx!"] {
            assert!(!hasher.verify(guess, DUMMY_HASH), "{guess}");
        }
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_instead_of_waiting() {
        // One thread and room for one waiting job: of many submitted at once, some are refused.
        let passwords = Passwords::new(1, 1).unwrap();
        let answers = futures_util::future::join_all(
            (0..6).map(|n| passwords.verify(format!("guess{n}"), DUMMY_HASH.to_owned())),
        );
        let answers = answers.await;
        assert!(
            answers
                .iter()
                .any(|a| matches!(a, Err(PasswordError::Busy))),
            "{answers:?}"
        );
        assert!(
            answers.iter().any(|a| matches!(a, Ok(false))),
            "{answers:?}"
        );
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let mut hasher = Hasher::new();
        let stored = hasher.hash("s3cret").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(hasher.verify("s3cret", &stored));
        assert!(!hasher.verify("s3cret ", &stored));
        assert!(!hasher.verify("s3cret", "not a hash"));
        assert_ne!(
            stored,
            hasher.hash("s3cret").unwrap(),
            "fresh salt each time"
        );
    }

    #[test]
    fn hashes_are_standard_phc_strings_both_ways() {
        let mut hasher = Hasher::new();
        // Ours verify with the crate's own verifier...
        let ours = hasher.hash("pa55word").unwrap();
        let parsed = argon2::PasswordHash::new(&ours).unwrap();
        assert!(
            argon2::Argon2::default()
                .verify_password(b"pa55word", &parsed)
                .is_ok()
        );
        // ...and the crate's verify with ours, whatever their parameters.
        let theirs: argon2::PasswordHash =
            argon2::Argon2::default().hash_password(b"other").unwrap();
        assert!(hasher.verify("other", &theirs.to_string()));
        assert!(!hasher.verify("wrong", &theirs.to_string()));
    }
}
