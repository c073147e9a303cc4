"""Daily briefings: stories, their ranking and window, cited summaries, headlines, what changed, output."""
