module druid-rs/bench-anchor

go 1.26
