"""Rate limits (RPM/TPM per key, team and deployment) and USD budgets (per key and team, per calendar period).

``LimitsStage`` reserves before the call and settles after it; ``counters`` hold the numbers (atomic Lua in Redis
when configured, in-process otherwise, falling back to in-process while Redis is down). See
docs/keys-and-limits.md for the rules as users see them.
"""
