"""A generator of realistic filled scans with ground truth (the yardstick for accuracy claims)."""
