"""Development helpers: sample data for the demo, tests and benchmarks."""
