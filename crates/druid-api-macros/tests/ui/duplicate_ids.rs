druid_api_macros::generate_clients!("specs/duplicate_ids");

fn main() {}
