druid_api_macros::generate_clients!("specs/typo_response");

fn main() {}
