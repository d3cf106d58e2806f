"""Running published campaigns: goal matching (a pure `decide` and a thin `apply`), the run
state machine, claiming due runs, the step loop, the step context and its write buffer,
and migrating runs when a new version is published.
"""
