druid_api_macros::generate_clients!("specs/missing_group");

fn main() {}
