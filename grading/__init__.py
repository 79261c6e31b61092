"""grading: turns readings into scores, judge work and reports."""
