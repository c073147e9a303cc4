"""Evaluation and measurement: suites, scoring, the textbook arm, reports, the gate, benchmarks."""
