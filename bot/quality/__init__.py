"""Quality: `make eval` (held-out answer and safety figures) and `make bench` (load test)."""
