druid_api_macros::generate_clients!("specs/bad_answers");

fn main() {}
