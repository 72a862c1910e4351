"""Side-by-side benchmarks: every row compares this project with its peer in the same run, as a ratio."""
