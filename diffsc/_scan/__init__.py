"""Sharded, chunked, resumable parameter scans with an on-disk store, and ``diffsc scan``."""
