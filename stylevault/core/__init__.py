"""Shared plumbing every app may use: errors, the API envelope, paging, SQL rows, caches,
rate limits, imaging, key files and configuration. Imports no app."""
