//! The harness of the job tests (`jobs`, `jobs_wait`, `jobs_bq`, `collect`): [`Setup`] starts moto
//! (the storage emulator, GCS XML API on 127.0.0.1) with a bucket `runs` and `batchline emulator`
//! reading the shards from the same moto (`--gcs-endpoint`), and runs `batchline` against both.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use batchline::store::{CloudConfig, Location, Secret, Store};
use batchline::vertex::wire::BatchPredictionJob;
use batchline::vertex::{AuthConfig, ClientOptions, VertexClient};
use serde_json::Value;

use crate::common::moto::Moto;
use crate::common::{bin, TestContext};

/// moto, a bucket `runs`, and an emulator reading and writing through moto; killed on drop.
pub(crate) struct Setup {
    pub(crate) moto: Moto,
    emulator: Child,
    pub(crate) url: String,
    pub(crate) ctx: TestContext,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.emulator.kill();
        let _ = self.emulator.wait();
    }
}

pub(crate) use super::Out;

impl Setup {
    pub(crate) fn start(flags: &[&str]) -> Option<Setup> {
        let moto = Moto::start()?;
        moto.bucket("runs");
        let mut emulator = Command::new(bin())
            .args(["emulator", "--port", "0", "--gcs-endpoint", &moto.url])
            .args(["--access-token", "test-token"])
            .args(flags)
            .envs(moto.env())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start batchline emulator");
        let mut first = String::new();
        BufReader::new(emulator.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first.trim().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{first:?}");
        Some(Setup {
            moto,
            emulator,
            url,
            ctx: TestContext::new(),
        })
    }

    /// [`Self::start`], then [`Self::prepare`] and `submit` of the run it returns.
    pub(crate) fn submitted(flags: &[&str]) -> Option<(Setup, &'static str)> {
        let s = Setup::start(flags)?;
        let run = s.prepare();
        let out = s.submit(run, &[]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        Some((s, run))
    }

    /// `batchline ARGS` with moto's environment.
    pub(crate) fn run(&self, args: &[&str]) -> Out {
        self.run_with_env(args, &[])
    }

    /// [`Self::run`] with more environment variables.
    pub(crate) fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let out = self
            .ctx
            .command()
            .args(args)
            .envs(self.moto.env())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        out.into()
    }

    /// Prepares 5 requests into `gs://runs/r1` as three shards (2, 2, 1 requests).
    pub(crate) fn prepare(&self) -> &'static str {
        let input: String = (0..5)
            .map(|i| {
                format!(r#"{{"request": {{"contents": [{{"role": "user", "parts": [{{"text": "question number {i}"}}]}}]}}}}"#)
                    + "\n"
            })
            .collect();
        self.ctx.write("in.jsonl", input);
        let out = self.run(&[
            "prepare",
            "in.jsonl",
            "-o",
            "gs://runs/r1",
            "--max-requests",
            "2",
            "--order",
            "input",
            "--tokens",
            "off",
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        "gs://runs/r1"
    }

    pub(crate) fn submit(&self, run: &str, extra: &[&str]) -> Out {
        let mut args = vec![
            "submit",
            run,
            "--project",
            "p",
            "--location",
            "us-central1",
            "--model",
            "gemini-2.5-flash",
            "--vertex-endpoint",
            &self.url,
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// `batchline CMD RUN --vertex-endpoint URL EXTRA…` against the emulator; `wait` polls every
    /// 50 ms, at most every 200 ms.
    pub(crate) fn job(&self, cmd: &str, run: &str, extra: &[&str]) -> Out {
        let mut args = vec![cmd, run, "--vertex-endpoint", &self.url];
        if cmd == "wait" {
            args.extend_from_slice(&["--poll-interval", "50ms", "--max-poll-interval", "200ms"]);
        }
        args.extend_from_slice(extra);
        self.run(&args)
    }

    pub(crate) fn store(&self, url: &str) -> Store {
        let cloud = CloudConfig {
            gcs_endpoint: Some(self.moto.url.clone()),
            access_token: Some(Secret::new("test-token")),
            ..CloudConfig::default()
        };
        Store::open(&Location::parse(url).unwrap(), &cloud).unwrap()
    }

    pub(crate) fn state(&self) -> Value {
        let bytes = self
            .store("gs://runs/r1")
            .get("state.json")
            .unwrap()
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Every job the emulator holds, oldest first.
    pub(crate) fn jobs(&self) -> Vec<BatchPredictionJob> {
        let mut o = ClientOptions::new("p", "us-central1");
        o.endpoint = Some(self.url.clone());
        o.auth = AuthConfig::Token("test".into());
        let client = VertexClient::new(&o).unwrap();
        let mut jobs = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(client.list_all(None))
            .unwrap();
        jobs.sort_by_key(|j| j.id().map(|i| i.parse::<u64>().unwrap_or(0)));
        jobs
    }
}

pub(crate) fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// The shards [`Setup::prepare`] writes.
pub(crate) const STEMS: [&str; 3] = ["shard-00000", "shard-00001", "shard-00002"];
