druid_api_macros::generate_clients!("specs/many_problems");

fn main() {}
