"""Configuration: the settings' declaration in typed parts, the experiment config built from
them, its checks, its analysis plan and the rounds of a sequential design."""
