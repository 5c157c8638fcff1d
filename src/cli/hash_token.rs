//! `lagesbild hash-token SECRET`: the line for a token file.

use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    token: String,
}

pub fn run(a: Args) -> Result<()> {
    println!("sha256:{}", lagesbild::api::auth::hash_token(&a.token));
    Ok(())
}
