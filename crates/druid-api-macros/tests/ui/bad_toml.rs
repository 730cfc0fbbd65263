druid_api_macros::generate_clients!("specs/bad_toml");

fn main() {}
