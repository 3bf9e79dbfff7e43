"""Microsoft Graph surface: per-tenant delta sync of summarized profiles (DESIGN.md §5)."""
