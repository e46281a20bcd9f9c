//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes).
//!
//! Each hash takes about 20 MiB and tens of milliseconds of a core. `Passwords` runs them on a few
//! threads of its own (one per core): a burst of sign-ups queues instead of taking a gigabyte, and
//! because each thread reuses its allocator arena, the memory stays at about 20 MiB per thread
//! rather than growing with every thread of a general-purpose pool.

use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use tokio::sync::oneshot;

enum Job {
    Hash(String, oneshot::Sender<anyhow::Result<String>>),
    Verify(String, String, oneshot::Sender<bool>),
}

/// The hashing threads; dropping this ends them after their current job.
pub struct Passwords {
    jobs_tx: Option<mpsc::Sender<Job>>,
    workers: Vec<thread::JoinHandle<()>>,
}

impl Passwords {
    /// Starts `parallel` hashing threads.
    pub fn new(parallel: usize) -> std::io::Result<Passwords> {
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
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
                                    let _ = reply.send(hasher.hash(&password));
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

    fn submit(&self, job: Job) -> anyhow::Result<()> {
        let jobs_tx = self
            .jobs_tx
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("password hashing stopped"))?;
        jobs_tx
            .send(job)
            .map_err(|_| anyhow::anyhow!("password hashing stopped"))
    }

    /// Hashes a password into a PHC string with a fresh random salt.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let (reply_tx, reply_rx) = oneshot::channel();
        self.submit(Job::Hash(password, reply_tx))?;
        reply_rx.await?
    }

    /// Whether `password` matches a stored PHC hash.
    pub async fn verify(&self, password: String, stored: String) -> anyhow::Result<bool> {
        let (reply_tx, reply_rx) = oneshot::channel();
        self.submit(Job::Verify(password, stored, reply_tx))?;
        Ok(reply_rx.await?)
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

    use super::Hasher;

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
