"""Background jobs: CSV imports, bulk tags and exports, run by the runtime with their state in our tables."""
